#!/bin/sh
# skaffold's custom builder for the hybrid-chat image (skaffold.yaml): deploy/cloudbuild.yaml on
# Cloud Build, run as the least-privilege account Terraform made, never the project's default
# one (which organisations with iam.automaticIamGrantsForDefaultServiceAccounts leave without
# roles). skaffold sets IMAGE (the tag to push) and BUILD_CONTEXT; the account comes from
#   export BUILD_SERVICE_ACCOUNT="$(terraform -chdir=infra output -raw build_service_account)"
# (README, runbook step 5). Nothing tracked is edited to name it.
set -eu

: "${IMAGE:?deploy/cloud-build.sh is run by skaffold, which sets IMAGE}"
account="${BUILD_SERVICE_ACCOUNT:-}"
case "$account" in
  projects/*/serviceAccounts/*@*) ;;
  *)
    echo "deploy/cloud-build.sh: BUILD_SERVICE_ACCOUNT='$account' is not projects/PROJECT/serviceAccounts/EMAIL;" >&2
    echo "  export BUILD_SERVICE_ACCOUNT=\"\$(terraform -chdir=infra output -raw build_service_account)\"" >&2
    exit 2
    ;;
esac
project="${account#projects/}"
project="${project%%/*}"

# Sources go to the staging bucket Terraform made, which the build account may read.
exec gcloud builds submit "${BUILD_CONTEXT:-.}" \
  --project="$project" \
  --config=deploy/cloudbuild.yaml \
  --substitutions="_IMAGE=$IMAGE" \
  --service-account="$account" \
  --gcs-source-staging-dir="gs://${project}_cloudbuild/source"
