//! What a link offers when it no longer gives files: an expired link's page, and a used-up
//! link's, ask the owner for more time or downloads ("Ask for more time"; code-gated links ask
//! for the code first, per-recipient links know the address). A bound per-recipient link opened
//! by someone else offers "Ask for your own access". The requests themselves are
//! `requests::actions`; this only parses, calls and renders.
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Form;
use serde::Deserialize;

use super::landing::gate_page;
use super::{AnyVisit, LinkVisit};
use crate::app::AppState;
use crate::error::{AppError, PageResult};
use crate::requests::actions::{self, Asker};
use crate::web::layout::render;

/// The request form's state on a page.
#[derive(Clone, Debug, Default)]
pub struct RenewForm {
    /// The link is expired or used up: the form is offered.
    pub offered: bool,
    /// The address the link knows (a per-recipient link's recipient, or the address a code was
    /// verified for): shown, not asked.
    pub locked_email: Option<String>,
    pub name: String,
    pub email: String,
    pub reason: String,
    /// A bound link's recipient, masked ("b•••@supermart.test"), on the forwarded page.
    pub masked: String,
    /// The link is live with its downloads used up: more downloads, not more time.
    pub used_up: bool,
    /// This (known) address has asked already and waits for the answer.
    pub pending: bool,
}

impl RenewForm {
    pub fn for_visit(v: &LinkVisit) -> RenewForm {
        let used_up = v.link.downloads_left() == Some(0);
        RenewForm {
            offered: used_up,
            locked_email: v.unlock.code.clone().or_else(|| v.link.recipient.clone()),
            used_up,
            ..RenewForm::default()
        }
    }

    /// `for_visit` on an expired (`expired`) or used-up link's page, knowing whether the
    /// visitor's known address has a request waiting (then the page says so instead of
    /// offering the form again). A live link's page costs no query here: it is a hot path.
    pub async fn read(
        state: &AppState,
        v: &LinkVisit,
        expired: bool,
    ) -> Result<RenewForm, AppError> {
        let mut form = RenewForm::for_visit(v);
        form.offered |= expired;
        if !form.offered {
            return Ok(form);
        }
        if let Some(email) = &form.locked_email {
            form.pending = crate::requests::list(
                &state.db,
                crate::requests::Show::Pending,
                Some(&v.link.id),
                None,
                None,
                100,
            )
            .await?
            .iter()
            .any(|r| r.kind == crate::requests::Kind::Renewal && &r.email == email);
        }
        Ok(form)
    }
}

/// "b•••@supermart.test": enough for the right person to recognise, not a harvestable address.
pub fn mask(email: &str) -> String {
    match email.split_once('@') {
        Some((local, domain)) => {
            let first: String = local.chars().take(1).collect();
            format!("{first}•••@{domain}")
        }
        None => "•••".into(),
    }
}

/// An expired link's page (410): the code gate first when the link has one, then the form.
pub(super) async fn expired_page(state: &AppState, v: &LinkVisit) -> PageResult<Response> {
    if v.link.require_code && !v.code_ok() {
        let mut page = gate_page(v, "code");
        page.code_sent = v.unlock.pending.is_some();
        page.email = v.unlock.pending.clone().unwrap_or_default();
        page.renew.offered = true;
        return Ok((StatusCode::GONE, render(&page)?).into_response());
    }
    let mut page = gate_page(v, "renew");
    page.renew = RenewForm::read(state, v, true).await?;
    Ok((StatusCode::GONE, render(&page)?).into_response())
}

#[derive(Deserialize)]
pub(super) struct AskForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    reason: String,
}

/// "Ask for more time" (`POST /s/{token}/renew`).
pub(super) async fn ask_renewal(
    State(state): State<AppState>,
    any: AnyVisit,
    Form(form): Form<AskForm>,
) -> PageResult<Response> {
    let v = &any.visit;
    // The gates that hide the content still hold on a used-up link; an expired one needs only
    // the code (the password protects files that are no longer served).
    let gated = if any.expired {
        v.link.require_code && !v.code_ok()
    } else {
        !v.open()
    };
    if gated {
        return Ok(axum::response::Redirect::to(&v.home()).into_response());
    }
    let known = RenewForm::for_visit(v).locked_email;
    let used_up = !any.expired;
    let email = known.clone().unwrap_or_else(|| form.email.clone());
    let result = match Asker::parse(&form.name, &email, &form.reason) {
        Ok(asker) => actions::ask_renewal(&state, &v.link, asker, &v.client).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(_) => Ok(render(&gate_page(v, "asked"))?.into_response()),
        Err(e) if e.is_correctable() => {
            let mut page = gate_page(v, "renew");
            page.error = Some(e.to_string());
            page.renew = RenewForm {
                offered: true,
                locked_email: known,
                name: form.name,
                email: form.email,
                reason: form.reason,
                used_up,
                ..RenewForm::default()
            };
            Ok((e.status(), render(&page)?).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

/// The page a bound link shows to a visitor who gave another address than its recipient's.
pub(super) fn forwarded_page(v: &LinkVisit, email: &str) -> PageResult<Response> {
    let mut page = gate_page(v, "forwarded");
    page.renew = RenewForm {
        offered: true,
        email: email.to_string(),
        masked: mask(v.link.recipient.as_deref().unwrap_or("")),
        ..RenewForm::default()
    };
    Ok((StatusCode::FORBIDDEN, render(&page)?).into_response())
}

/// "Ask for your own access" on a bound link (`POST /s/{token}/access`).
pub(super) async fn ask_access(
    State(state): State<AppState>,
    v: LinkVisit,
    Form(form): Form<AskForm>,
) -> PageResult<Response> {
    if !v.link.bind_recipient {
        return Err(AppError::NotFound.into());
    }
    let result = match Asker::parse(&form.name, &form.email, &form.reason) {
        Ok(asker) => actions::ask_access(&state, &v.link, asker, &v.client).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(_) => Ok(render(&gate_page(&v, "asked"))?.into_response()),
        Err(e) if e.is_correctable() => {
            let mut page = gate_page(&v, "forwarded");
            page.error = Some(e.to_string());
            page.renew = RenewForm {
                offered: true,
                name: form.name,
                email: form.email,
                reason: form.reason,
                masked: mask(v.link.recipient.as_deref().unwrap_or("")),
                ..RenewForm::default()
            };
            Ok((e.status(), render(&page)?).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn masks_keep_the_first_letter_and_the_domain() {
        assert_eq!(super::mask("buyer@supermart.test"), "b•••@supermart.test");
        assert_eq!(super::mask("nonsense"), "•••");
    }
}
