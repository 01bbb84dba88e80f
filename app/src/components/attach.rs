//! The composer's files with JavaScript. `public/attach.js` (plain DOM outside the wasm, as
//! `copy.js` is) uploads each file picked, pasted or dropped to `POST /api/attach` as soon as
//! it comes, with its progress, and keeps it as a chip in the list below: a thumbnail or its
//! name and size, why it was refused, a Remove button. A stored file's chip holds a hidden
//! `attachments` field, so the form itself says which files go, as a plain post would; a send
//! reads their ids from it (`files_in_form`) and, once sent, names them back (`mark_sent`). It
//! keeps the counts Send needs on the file input (`count_chips`). A paste longer than a message
//! can be becomes a text file there. Without JavaScript, or before the page is hydrated
//! (`data-enhanced` on the form), the file input posts the files with the message instead.
//!
//! Written as plain JavaScript because it is DOM work the page's state needs only the outcome
//! of: in the wasm it cost 13.8 KB brotli (XMLHttpRequest, the chips' views), past the 8 KB
//! the attachments were allowed; the script is 2.3 KB.

use crate::attachment::{FileRefusal, MAX_FILES, MAX_FILE_BYTES};
use crate::chat::state::ChatState;
use crate::params::MAX_MESSAGE_CHARS;
use leptos::prelude::*;

pub const CHIPS_ID: &str = "chips";

/// The chips' list, empty as served; `attach.js` reads its limits and words from it.
#[component]
pub fn Chips() -> impl IntoView {
    view! {
        <ul id=CHIPS_ID class="chips" aria-label="Files to send"
            data-max-files=MAX_FILES data-max-bytes=MAX_FILE_BYTES data-max-chars=MAX_MESSAGE_CHARS
            data-too-many=FileRefusal::TooMany.to_string() data-too-large=FileRefusal::TooLarge.to_string()
        ></ul>
    }
}

/// The files the form would post: an edited message's and the chips' (every `attachments`
/// field), as the server reads a plain post.
pub fn files_in_form() -> Vec<String> {
    #[cfg(feature = "hydrate")]
    {
        use crate::components::settings_panel::COMPOSER_FORM_ID;
        use wasm_bindgen::JsCast;
        document()
            .get_element_by_id(COMPOSER_FORM_ID)
            .and_then(|f| f.dyn_into::<web_sys::HtmlFormElement>().ok())
            .and_then(|f| web_sys::FormData::new_with_form(&f).ok())
            .map(|data| {
                data.get_all("attachments")
                    .iter()
                    .filter_map(|v| v.as_string())
                    .flat_map(|v| v.split(',').map(str::to_string).collect::<Vec<_>>())
                    .filter(|id| !id.is_empty())
                    .collect()
            })
            .unwrap_or_default()
    }
    #[cfg(not(feature = "hydrate"))]
    Vec::new()
}

/// Tells `attach.js` which files went with a message that was sent (`ids`, comma-separated):
/// their chips leave the composer, with the refused ones; any added meanwhile stay.
pub fn mark_sent(ids: &str) {
    #[cfg(feature = "hydrate")]
    if let Some(list) = document().get_element_by_id(CHIPS_ID) {
        let _ = list.set_attribute("data-sent", ids);
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = ids;
}

impl ChatState {
    /// Reads the counts `attach.js` keeps on the file input (`data-stored`, `data-uploading`),
    /// whose `change` it fires when they change.
    #[cfg(feature = "hydrate")]
    pub fn count_chips(self, input: &web_sys::Element) {
        let count = |name| {
            input
                .get_attribute(name)
                .and_then(|v| v.parse::<u32>().ok())
                .unwrap_or(0)
        };
        let stored = count("data-stored");
        // Said in the page's one live region (a refusal is an alert of its own chip).
        if stored > self.chips.get_untracked() {
            self.announcement.set("File attached.".into());
        }
        self.chips.set(stored);
        self.uploading.set(count("data-uploading") > 0);
    }
}
