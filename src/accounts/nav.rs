//! The page layout for a signed-in person (`Layout::for_user`), and error pages rendered again
//! with that person's navigation: accounts know who is signed in; `web::layout` does not.
use askama::Template;
use axum::body::Body;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tower_sessions::Session;

use super::PageUser;
use crate::app::AppState;
use crate::web::layout::{ErrorPage, Layout, NavItem, NavUser};

impl Layout {
    pub fn for_user(title: &str, user: &PageUser, section: &'static str) -> Layout {
        Layout {
            title: title.into(),
            brand: crate::brand::current(),
            user: Some(NavUser {
                name: user.account.name.clone(),
                email: user.account.email.clone(),
                is_admin: user.account.is_admin(),
                contributes: user.contributes,
                menu: menu(user.account.is_admin(), user.contributes),
            }),
            csrf: user.csrf.clone(),
            flash: user.flash.clone(),
            section,
            zone: crate::clock::current_zone(),
        }
    }
}

/// A person's main menu. An admin's ten entries fit one row from 1600 px; on narrower screens
/// the less used ones fold into "More" where the bar would otherwise wrap (`NavItem::fold`: a
/// phone, 1024, 1280, 1440 px). CSS shows and hides them by width, so nothing waits for a
/// script and every entry stays reachable. A member's three or four entries fit beside the
/// search box at every desktop width.
fn menu(is_admin: bool, contributes: bool) -> Vec<NavItem> {
    let item = |href, label, section, fold| NavItem {
        href,
        label,
        section,
        fold,
    };
    let mut menu = vec![item("/", "Library", "library", "")];
    if is_admin {
        menu.extend([
            item("/admin/review", "Review", "review", ""),
            item("/admin/users", "Users", "users", "a"),
            item("/admin/groups", "Groups", "groups", "ab"),
            item("/admin/links", "Links", "links", "a"),
            item("/admin/requests", "Requests", "requests", "ab"),
            item("/admin/reports", "Reports", "reports", "abc"),
            item("/admin/webhooks", "Webhooks", "webhooks", "abcd"),
            item("/collections", "Collections", "collections", "ab"),
            // From 761 px the search box beside the menu does the same.
            item("/search", "Search", "search", "bcd"),
        ]);
    } else {
        if contributes {
            menu.push(item("/submissions", "My submissions", "submissions", ""));
        }
        menu.extend([
            item("/collections", "Collections", "collections", ""),
            item("/search", "Search", "search", ""),
        ]);
    }
    menu
}

/// Error pages (`PageError`) are rendered without the request, so they come out anonymous. For a
/// signed-in person this renders them again with the navigation, so a 404 inside the portal is
/// not a dead end. Only error responses pay for the lookup.
pub async fn with_nav(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let session = req.extensions().get::<Session>().cloned();
    let mut response = next.run(req).await;
    let (Some(page), Some(session)) = (response.extensions_mut().remove::<ErrorPage>(), session)
    else {
        return response;
    };
    let mut probe = Request::new(());
    probe.extensions_mut().insert(session);
    let (mut parts, ()) = probe.into_parts();
    let Ok(user) = PageUser::from_request_parts(&mut parts, &state).await else {
        return response; // not signed in: the anonymous page is right
    };
    let page = ErrorPage {
        layout: Layout::for_user(&page.heading, &user, ""),
        ..page
    };
    let Ok(html) = page.render() else {
        return response;
    };
    let (mut head, _) = response.into_parts();
    head.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(head, Body::from(html)).into_response()
}

#[cfg(test)]
mod tests {
    use super::menu;
    use crate::web::layout::NavUser;

    fn user(is_admin: bool, contributes: bool) -> NavUser {
        NavUser {
            name: "Ann".into(),
            email: "ann@example.com".into(),
            is_admin,
            contributes,
            menu: menu(is_admin, contributes),
        }
    }

    #[test]
    fn an_admins_menu_folds_into_more_below_1600_px_and_a_members_never() {
        let admin = user(true, false);
        assert_eq!(admin.menu.len(), 10);
        assert_eq!(admin.more(), "fold-a fold-b fold-c fold-d");
        // Library and Review stay in the bar at every width.
        assert!(admin.menu[..2].iter().all(|i| i.fold.is_empty()));
        assert_eq!(admin.menu[6].classes(), "fold-a fold-b fold-c");
        for (contributes, entries) in [(false, 3), (true, 4)] {
            let member = user(false, contributes);
            assert_eq!(member.menu.len(), entries);
            assert_eq!(member.more(), "");
        }
    }
}
