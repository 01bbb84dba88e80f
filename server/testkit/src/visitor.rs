//! A browser tab talking to a [`Server`] over HTTP: cookies it keeps (or a test forges), the
//! chat it shows, and the forms it posts.

use crate::form::{encode, SendForm};
use crate::{http, Server};
use std::time::{Duration, Instant};

/// A browser tab that keeps only the cookies we tell it to, so tests can forge them.
pub struct Visitor {
    pub client: reqwest::Client,
    pub base: String,
    /// The chat this tab shows (its address is `/c/{id}`); `None`: a new chat. Sends go to it,
    /// and the first send of a new chat sets it, as the page does.
    pub chat: Option<String>,
    /// The Cookie header this browser sends (`hc_owner=…`, signed by the server), or whatever a
    /// test forges.
    pub owner: Option<String>,
    /// Sent as `x-goog-iap-jwt-assertion`, as IAP would.
    pub assertion: Option<String>,
    /// Sent as `x-forwarded-for`, as a load balancer would.
    pub forwarded_for: Option<String>,
}

pub struct Reply {
    pub status: u16,
    pub body: String,
    pub set_cookies: Vec<String>,
    pub location: Option<String>,
}

impl Reply {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    /// The value of `name` in this response's Set-Cookie headers.
    pub fn cookie(&self, name: &str) -> Option<String> {
        self.set_cookies.iter().find_map(|c| {
            let first = c.split(';').next()?;
            let (k, v) = first.split_once('=')?;
            (k.trim() == name).then(|| v.to_string())
        })
    }
}

impl Visitor {
    pub fn new(server: &Server) -> Visitor {
        Visitor {
            client: http()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("client"),
            base: server.url.clone(),
            chat: None,
            owner: None,
            assertion: None,
            forwarded_for: None,
        }
    }

    /// Another tab of the same browser on the same chat: same cookies, its own connection.
    pub fn twin(&self) -> Visitor {
        Visitor {
            client: self.client.clone(),
            base: self.base.clone(),
            chat: self.chat.clone(),
            owner: self.owner.clone(),
            assertion: self.assertion.clone(),
            forwarded_for: self.forwarded_for.clone(),
        }
    }

    /// A browser loads the page before it posts anything: that is where it gets its owner.
    async fn visit_first(&mut self) -> Result<(), reqwest::Error> {
        if self.owner.is_none() && self.assertion.is_none() {
            let req = self.identify(self.client.get(format!("{}/", self.base)));
            let response = req.send().await?;
            self.finish(response).await;
        }
        Ok(())
    }

    /// Posts a raw body with the given content type (for malformed requests). `Err` if the
    /// server closed the connection before answering (as it may for an oversized body).
    pub async fn post_raw(
        &mut self,
        path: &str,
        content_type: &str,
        body: Vec<u8>,
    ) -> Result<Reply, reqwest::Error> {
        let req = self
            .client
            .post(format!("{}{path}", self.base))
            .header("content-type", content_type)
            .header("accept", "application/json")
            .body(body);
        let response = self.identify(req).send().await?;
        Ok(self.finish(response).await)
    }

    fn adopt_cookies(&mut self, reply: &Reply) {
        for name in ["hc_owner", "__Host-hc_owner"] {
            if let Some(v) = reply.cookie(name) {
                self.owner = (!v.is_empty()).then(|| format!("{name}={v}"));
            }
        }
    }

    /// The owner id this browser's cookie names (the store's owner of its chats).
    pub fn owner(&self) -> String {
        let cookie = self
            .owner
            .as_deref()
            .expect("the browser has an owner cookie");
        let value = cookie.split_once('=').map_or(cookie, |(_, v)| v);
        value.split('.').next().unwrap_or(value).to_string()
    }

    /// The chat this tab shows.
    pub fn session(&self) -> String {
        self.chat.clone().expect("the tab shows a chat")
    }

    /// The cookies and IAP assertion this browser sends with every request.
    fn identify(&self, mut req: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        if let Some(c) = self.cookie_header() {
            req = req.header("cookie", c);
        }
        if let Some(a) = &self.assertion {
            req = req.header("x-goog-iap-jwt-assertion", a);
        }
        if let Some(f) = &self.forwarded_for {
            req = req.header("x-forwarded-for", f);
        }
        req
    }

    /// The `Cookie` header this browser sends (`hc_owner=…`), for requests written by hand.
    pub fn cookie_header(&self) -> Option<String> {
        self.owner.clone()
    }

    async fn finish(&mut self, response: reqwest::Response) -> Reply {
        let status = response.status().as_u16();
        let set_cookies = response
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok().map(String::from))
            .collect();
        let location = response
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok().map(String::from));
        let body = response.text().await.unwrap_or_default();
        let reply = Reply {
            status,
            body,
            set_cookies,
            location,
        };
        self.adopt_cookies(&reply);
        // The page moves to a chat's address after its first message (JSON reply), or is
        // redirected there (a form post without JavaScript).
        if let Some(id) = reply
            .location
            .as_deref()
            .and_then(|l| l.strip_prefix("/c/"))
        {
            self.chat = Some(id.split('?').next().unwrap_or(id).to_string());
        } else if reply.status == 200 {
            if let Some(id) = serde_json::from_str::<serde_json::Value>(&reply.body)
                .ok()
                .and_then(|v| v["session"]["id"].as_str().map(String::from))
            {
                self.chat = Some(id);
            }
        }
        reply
    }

    pub async fn get(&mut self, path: &str) -> Reply {
        let req = self.identify(self.client.get(format!("{}{path}", self.base)));
        let response = req.send().await.expect("GET");
        self.finish(response).await
    }

    /// A file as the browser gets it: its `Content-Type`, its bytes, and every header (for
    /// assertions on `nosniff`, `Content-Disposition` and the like).
    pub async fn get_bytes(&mut self, path: &str) -> (String, Vec<u8>, String) {
        let req = self.identify(self.client.get(format!("{}{path}", self.base)));
        let response = req.send().await.expect("GET");
        let headers = format!("{:?}", response.headers());
        let kind = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        let bytes = response.bytes().await.expect("body").to_vec();
        (kind, bytes, headers)
    }

    /// Loads a page the way a browser without JavaScript ends up seeing it: a chat whose turn is
    /// pending refreshes itself, so this loads it again until no turn is pending (10 s at most).
    pub async fn get_settled(&mut self, path: &str) -> Reply {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let page = self.get(path).await;
            let refreshing = page.body.contains(r#"http-equiv="refresh""#);
            if !refreshing || Instant::now() > deadline {
                return page;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Calls a server function the way the hydrated page does (JSON reply, no redirect).
    pub async fn call(&mut self, path: &str, form: &[(&str, &str)]) -> Reply {
        self.post(path, form, "application/json").await
    }

    /// [`Visitor::call`], for a request that may be given up on (a client timeout).
    pub async fn try_call(
        &mut self,
        path: &str,
        form: &[(&str, &str)],
    ) -> Result<Reply, reqwest::Error> {
        self.try_post(path, form, "application/json").await
    }

    /// Posts a form the way a browser without JavaScript does.
    pub async fn post_form(&mut self, path: &str, form: &[(&str, &str)]) -> Reply {
        self.post(path, form, "text/html,application/xhtml+xml")
            .await
    }

    async fn post(&mut self, path: &str, form: &[(&str, &str)], accept: &str) -> Reply {
        self.try_post(path, form, accept).await.expect("POST")
    }

    /// `Err` when the server is gone (killed, restarting) instead of a panic.
    async fn try_post(
        &mut self,
        path: &str,
        form: &[(&str, &str)],
        accept: &str,
    ) -> Result<Reply, reqwest::Error> {
        self.visit_first().await?;
        // A send goes to the tab's chat, as the page's form does.
        let chat = self.chat.clone().unwrap_or_default();
        let mut form = form.to_vec();
        if matches!(path, "/api/send" | "/api/compare") && !form.iter().any(|(k, _)| *k == "chat") {
            form.push(("chat", chat.as_str()));
        }
        let body = encode(&form);
        let here = self
            .chat
            .as_deref()
            .map_or("/".to_string(), |c| format!("/c/{c}"));
        let req = self
            .client
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("accept", accept)
            .header("referer", format!("{}{here}", self.base))
            .body(body);
        let req = self.identify(req);
        let response = req.send().await?;
        Ok(self.finish(response).await)
    }

    /// Sends a message with the default sliders.
    pub async fn send(&mut self, text: &str, model: &str) -> Reply {
        self.try_send(text, model).await.expect("POST")
    }

    /// [`Visitor::send`], for a server that may be gone.
    pub async fn try_send(&mut self, text: &str, model: &str) -> Result<Reply, reqwest::Error> {
        let form = SendForm::new(text).model(model);
        self.try_post("/api/send", &form.fields(), "application/json")
            .await
    }

    /// Sends a composer form as the page's script does.
    pub async fn send_form(&mut self, form: &SendForm) -> Reply {
        self.call("/api/send", &form.fields()).await
    }

    /// Posts the composer's form with files, `multipart/form-data` as a browser sends it:
    /// without JavaScript (`page`: the browser is redirected back) or as a script would (JSON).
    /// `files`: (file name, bytes), each a `files` part.
    /// Uploads `files` as the page does with JavaScript (`POST /api/attach`, one post each
    /// time files are picked), the composer already holding `held` files.
    pub async fn attach(&mut self, files: &[(&str, Vec<u8>)], held: usize) -> Reply {
        let form = SendForm::new("").set("held", held);
        self.send_files("/api/attach", &form, files, false).await
    }

    pub async fn send_files(
        &mut self,
        path: &str,
        form: &SendForm,
        files: &[(&str, Vec<u8>)],
        page: bool,
    ) -> Reply {
        self.visit_first().await.expect("page load");
        let chat = self.chat.clone().unwrap_or_default();
        let mut fields = form.fields();
        if !fields.iter().any(|(k, _)| *k == "chat") {
            fields.push(("chat", chat.as_str()));
        }
        let boundary = "----hybridchattestboundary7MA4YWxk";
        let mut body: Vec<u8> = Vec::new();
        for (name, value) in &fields {
            body.extend_from_slice(
                format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n")
                    .as_bytes(),
            );
        }
        for (file_name, bytes) in files {
            body.extend_from_slice(
                format!("--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"{file_name}\"\r\nContent-Type: application/octet-stream\r\n\r\n")
                    .as_bytes(),
            );
            body.extend_from_slice(bytes);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
        let here = self
            .chat
            .as_deref()
            .map_or("/".to_string(), |c| format!("/c/{c}"));
        let accept = if page {
            "text/html,application/xhtml+xml"
        } else {
            "application/json"
        };
        let req = self
            .client
            .post(format!("{}{path}", self.base))
            .header(
                "content-type",
                format!("multipart/form-data; boundary={boundary}"),
            )
            .header("accept", accept)
            .header("referer", format!("{}{here}", self.base))
            .body(body);
        let response = self.identify(req).send().await.expect("POST");
        self.finish(response).await
    }
}
