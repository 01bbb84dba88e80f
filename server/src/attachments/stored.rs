//! The files a post has stored so far, deleted again if the post is refused or dropped.

use app::attachment::Attachment;
use app::services::Services;

/// The files a post has stored so far. Refused, they are deleted before the answer; if the
/// request itself is dropped half-way (the client left), in a task of their own when this is.
pub struct Stored<'a> {
    services: &'a Services,
    files: Vec<Attachment>,
}

impl std::ops::Deref for Stored<'_> {
    type Target = Vec<Attachment>;
    fn deref(&self) -> &Vec<Attachment> {
        &self.files
    }
}

impl std::ops::DerefMut for Stored<'_> {
    fn deref_mut(&mut self) -> &mut Vec<Attachment> {
        &mut self.files
    }
}

impl<'a> Stored<'a> {
    pub fn new(services: &'a Services) -> Self {
        Stored {
            services,
            files: Vec::new(),
        }
    }

    /// The post is taken: its files stay, handed over.
    pub fn keep(&mut self) -> Vec<Attachment> {
        std::mem::take(&mut self.files)
    }

    /// Deletes what was stored, now.
    pub async fn forget(&mut self) {
        let ids: Vec<String> = self.files.drain(..).map(|f| f.id).collect();
        forget(self.services, ids).await;
    }
}

/// Deletes files `ids`: their bytes, then the records of those whose bytes are gone. A record
/// whose bytes could not be deleted (the bucket is down) stays, unsent, for the sweep.
async fn forget(services: &Services, ids: Vec<String>) {
    let mut gone = Vec::with_capacity(ids.len());
    for id in ids {
        if services.blobs.delete(&id).await.is_ok() {
            gone.push(id);
        }
    }
    let _ = services.files.forget_files(&gone).await;
}

impl Drop for Stored<'_> {
    fn drop(&mut self) {
        if self.files.is_empty() {
            return;
        }
        let ids: Vec<String> = self.files.drain(..).map(|f| f.id).collect();
        let services = self.services.clone();
        tokio::spawn(async move { forget(&services, ids).await });
    }
}
