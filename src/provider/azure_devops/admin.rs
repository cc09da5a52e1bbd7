//! The organisation administrator's client: tokenadmin (list and revoke users' PATs,
//! revocation rules), identities (IMS: a UPN to a subject descriptor) and graph (list users),
//! with the admin credential from the environment. The two write calls are sent only when
//! `act/execute.rs` decides so.

use reqwest::Url;
use serde::Deserialize;
use serde_json::Value;

use super::{
    decode, status_error, url, value_list, AdoUrls, AdoUser, Op, SessionToken, GRAPH_API_VERSION,
    IDENTITIES_API_VERSION, MAX_PAGES, PAT_PAGE_SIZE, TOKENADMIN_API_VERSION,
};
use crate::provider::http::{describe, Auth, GateOpen, HttpClient, Method, Request, Response};
use crate::provider::ProviderError;

/// The organisation administrator's client (tokenadmin, identities, graph).
pub struct AdoAdmin<'a> {
    http: &'a HttpClient,
    org: String,
    urls: AdoUrls,
    auth: Auth,
    max_pages: usize,
}

impl<'a> AdoAdmin<'a> {
    /// A client for `org` with the admin credential `auth`.
    pub fn new(
        http: &'a HttpClient,
        org: &str,
        api_base: Option<&str>,
        auth: Auth,
    ) -> Result<Self, ProviderError> {
        Ok(Self {
            http,
            org: org.to_string(),
            urls: AdoUrls::new(Some(org), api_base)?,
            auth,
            max_pages: MAX_PAGES,
        })
    }

    /// Lowers the page limit of [`AdoAdmin::list_users`] / [`AdoAdmin::list_pats`] (tests).
    pub fn with_max_pages(mut self, n: usize) -> Self {
        self.max_pages = n.max(1);
        self
    }

    /// The error for a list that still had pages when the limit was reached: a partial list
    /// must never pass for the whole one.
    fn too_many_pages(&self, what: String) -> ProviderError {
        ProviderError::Decode {
            what,
            reason: format!(
                "still more pages after {} pages; stopping, the list is incomplete",
                self.max_pages
            ),
        }
    }

    /// The organisation.
    pub fn org(&self) -> &str {
        &self.org
    }

    fn get(&self, u: Url) -> Result<(String, Response), ProviderError> {
        let req = Request {
            method: Method::Get,
            url: u,
            auth: self.auth.clone(),
            body: None,
        };
        let what = describe(&req);
        let r = self.http.send(&self.urls.scope, &req)?;
        Ok((what, r))
    }

    /// UPN -> user, through `_apis/identities?searchFilter=General&filterValue=UPN`.
    pub fn resolve_user(&self, upn: &str) -> Result<AdoUser, ProviderError> {
        let u = url(
            &self.urls.vssps,
            &["_apis", "identities"],
            &[
                ("searchFilter", "General"),
                ("filterValue", upn),
                ("queryMembership", "None"),
                ("api-version", IDENTITIES_API_VERSION),
            ],
        )?;
        let (what, r) = self.get(u)?;
        if r.status != 200 {
            return Err(status_error(
                Op::Identities,
                what,
                &r,
                None,
                self.auth.secret(),
            ));
        }
        let list = value_list(decode(&what, &r)?);
        let with_desc: Vec<&Value> = list
            .iter()
            .filter(|i| {
                i["subjectDescriptor"]
                    .as_str()
                    .is_some_and(|d| !d.is_empty())
            })
            .collect();
        let props = |i: &Value| -> Vec<String> {
            ["Account", "Mail", "UPN", "PrincipalName"]
                .iter()
                .filter_map(|k| i["properties"][*k]["$value"].as_str())
                .map(str::to_string)
                .collect()
        };
        // Only an identity that carries the UPN itself is the user: the search is fuzzy, and
        // taking the first hit would act on someone else.
        let pick = with_desc
            .iter()
            .find(|i| props(i).iter().any(|v| v.eq_ignore_ascii_case(upn)));
        let Some(pick) = pick else {
            let seen: Vec<String> = with_desc
                .iter()
                .take(5)
                .map(|i| {
                    props(i)
                        .into_iter()
                        .next()
                        .or_else(|| i["providerDisplayName"].as_str().map(str::to_string))
                        .unwrap_or_else(|| "?".into())
                })
                .collect();
            let returned =
                if with_desc.is_empty() {
                    "the identity search returned no user".to_string()
                } else {
                    format!(
                    "the identity search returned {} other identit{} ({}{}), none with that UPN",
                    with_desc.len(),
                    if with_desc.len() == 1 { "y" } else { "ies" },
                    seen.join(", "),
                    if with_desc.len() > seen.len() { ", ..." } else { "" }
                )
                };
            return Err(ProviderError::UserNotFound {
                user: upn.to_string(),
                org: self.org.clone(),
                returned,
            });
        };
        let own_upn = props(pick)
            .into_iter()
            .find(|v| v.eq_ignore_ascii_case(upn))
            .unwrap_or_else(|| upn.to_string());
        Ok(AdoUser {
            descriptor: pick["subjectDescriptor"]
                .as_str()
                .unwrap_or_default()
                .into(),
            display_name: pick["providerDisplayName"]
                .as_str()
                .unwrap_or(&own_upn)
                .to_string(),
            upn: own_upn,
        })
    }

    /// Every user of the organisation, following `X-MS-ContinuationToken`.
    pub fn list_users(&self) -> Result<Vec<AdoUser>, ProviderError> {
        let mut out = Vec::new();
        let mut cont: Option<String> = None;
        let mut last = String::new();
        for _ in 0..self.max_pages {
            let mut q = vec![("api-version", GRAPH_API_VERSION)];
            if let Some(c) = &cont {
                q.push(("continuationToken", c.as_str()));
            }
            let (what, r) = self.get(url(&self.urls.vssps, &["_apis", "graph", "users"], &q)?)?;
            if r.status != 200 {
                return Err(status_error(Op::Graph, what, &r, None, self.auth.secret()));
            }
            last.clone_from(&what);
            let next = r
                .header("x-ms-continuationtoken")
                .filter(|s| !s.is_empty())
                .map(str::to_string);
            for u in value_list(decode(&what, &r)?) {
                let Some(d) = u["descriptor"].as_str() else {
                    continue;
                };
                out.push(AdoUser {
                    descriptor: d.to_string(),
                    upn: u["principalName"].as_str().unwrap_or_default().to_string(),
                    display_name: u["displayName"].as_str().unwrap_or_default().to_string(),
                });
            }
            match next {
                Some(n) if cont.as_deref() != Some(n.as_str()) => cont = Some(n),
                _ => return Ok(out),
            }
        }
        Err(self.too_many_pages(last))
    }

    /// Every PAT of `user`, following `continuationToken`.
    pub fn list_pats(&self, user: &AdoUser) -> Result<Vec<SessionToken>, ProviderError> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Page {
            #[serde(default)]
            value: Vec<SessionToken>,
            #[serde(default)]
            continuation_token: Option<String>,
        }
        let mut out = Vec::new();
        let mut cont: Option<String> = None;
        let page_size = PAT_PAGE_SIZE.to_string();
        let mut last = String::new();
        for _ in 0..self.max_pages {
            let mut q = vec![
                ("pageSize", page_size.as_str()),
                ("api-version", TOKENADMIN_API_VERSION),
            ];
            if let Some(c) = &cont {
                q.push(("continuationToken", c.as_str()));
            }
            let u = url(
                &self.urls.vssps,
                &[
                    "_apis",
                    "tokenadmin",
                    "personalaccesstokens",
                    &user.descriptor,
                ],
                &q,
            )?;
            let (what, r) = self.get(u)?;
            if r.status != 200 {
                let nf = format!(
                    "user {} (subject descriptor {}) not found in organization {}",
                    user.upn, user.descriptor, self.org
                );
                return Err(status_error(
                    Op::TokenAdmin,
                    what,
                    &r,
                    Some(nf),
                    self.auth.secret(),
                ));
            }
            let page: Page = decode(&what, &r)?;
            last.clone_from(&what);
            out.extend(page.value);
            match page.continuation_token.filter(|c| !c.is_empty()) {
                Some(n) if cont.as_deref() != Some(n.as_str()) => cont = Some(n),
                _ => return Ok(out),
            }
        }
        Err(self.too_many_pages(last))
    }

    /// `POST _apis/tokenadmin/revocations` with one batch of authorization ids. Sent once.
    pub fn revoke(
        &self,
        authorization_ids: &[String],
        gate: GateOpen,
    ) -> Result<(), ProviderError> {
        let body: Vec<Value> = authorization_ids
            .iter()
            .map(|id| serde_json::json!({ "authorizationId": id }))
            .collect();
        let u = url(
            &self.urls.vssps,
            &["_apis", "tokenadmin", "revocations"],
            &[("api-version", TOKENADMIN_API_VERSION)],
        )?;
        self.write(u, Value::Array(body), &[200, 204], gate)
    }

    /// `POST _apis/tokenadmin/revocationrules`. Sent once.
    pub fn create_revocation_rule(
        &self,
        created_before: &str,
        scopes: &str,
        gate: GateOpen,
    ) -> Result<(), ProviderError> {
        let u = url(
            &self.urls.vssps,
            &["_apis", "tokenadmin", "revocationrules"],
            &[("api-version", TOKENADMIN_API_VERSION)],
        )?;
        let body = serde_json::json!({ "scopes": scopes, "createdBefore": created_before });
        self.write(u, body, &[200, 201, 204], gate)
    }

    fn write(&self, u: Url, body: Value, ok: &[u16], _gate: GateOpen) -> Result<(), ProviderError> {
        let req = Request {
            method: Method::Post,
            url: u,
            auth: self.auth.clone(),
            body: Some(body),
        };
        let what = describe(&req);
        let r = self.http.send(&self.urls.scope, &req)?;
        if ok.contains(&r.status) {
            Ok(())
        } else {
            Err(status_error(
                Op::TokenAdmin,
                what,
                &r,
                None,
                self.auth.secret(),
            ))
        }
    }
}
