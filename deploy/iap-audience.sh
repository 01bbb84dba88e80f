#!/bin/sh
# Writes the audience that hybrid-chat checks in IAP's signed header to ConfigMap
# hybrid-chat-iap, then restarts the app so it reads it. Run once after the first
# `skaffold run -p iap`, and again only if the Gateway is re-created (its backend service, and so
# the audience, changes).
#
# The audience is /projects/PROJECT_NUMBER/global/backendServices/ID, where ID belongs to the
# backend service the GKE Gateway controller created for Service default/hybrid-chat port 80.
# Its name is generated (gkegw1-XXXX-default-hybrid-chat-80-YYYY), so we look it up, and refuse
# to guess if there is not exactly one.
#
# It also writes the app's domain to ConfigMap hybrid-chat-hosts: the only host name it answers
# (ALLOWED_HOSTS; a request for any other is refused, which defeats DNS rebinding).
#
# Usage: PROJECT_ID=my-project DOMAIN=chat.example.com deploy/iap-audience.sh
set -eu
project="${PROJECT_ID:-$(gcloud config get-value project 2>/dev/null)}"
[ -n "$project" ] || { echo "set PROJECT_ID" >&2; exit 1; }
domain="${DOMAIN:-}"
[ -n "$domain" ] || { echo "set DOMAIN, the app's host name (Terraform's domain)" >&2; exit 1; }
namespace="${NAMESPACE:-default}"

number="$(gcloud projects describe "$project" --format='value(projectNumber)')"
ids="$(gcloud compute backend-services list --global --project "$project" \
  --filter="name~^gkegw1-.*-${namespace}-hybrid-chat-80-" --format='value(id)')"
count="$(printf '%s\n' "$ids" | grep -c . || true)"
if [ "$count" -ne 1 ]; then
  echo "expected one backend service for ${namespace}/hybrid-chat:80, found ${count}:" >&2
  gcloud compute backend-services list --global --project "$project" \
    --filter="name~hybrid-chat" --format='table(name,id)' >&2
  echo "wait for the Gateway to program (kubectl get gateway hybrid-chat), or delete the stale one" >&2
  exit 1
fi

audience="/projects/${number}/global/backendServices/${ids}"
kubectl create configmap hybrid-chat-iap --namespace "$namespace" \
  --from-literal=audience="$audience" --dry-run=client -o yaml | kubectl apply -f -
kubectl create configmap hybrid-chat-hosts --namespace "$namespace" \
  --from-literal=allowed="$domain" --dry-run=client -o yaml | kubectl apply -f -
kubectl rollout restart deployment/hybrid-chat --namespace "$namespace"
echo "IAP audience set: $audience; host: $domain"
