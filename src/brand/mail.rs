//! Editable email templates (issue 7): an admin rewrites the subject and text of each email the
//! portal sends, with `{placeholders}` filled in at sending time. A template is plain text, so
//! there is nothing to escape; substitution is one pass over the template, so a value that
//! contains braces is never read as a placeholder. A template is checked when it is saved:
//! unknown placeholders are refused (a typo would otherwise reach every recipient), and so is a
//! template without the placeholders its email exists for (a reset mail without its link).
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// One kind of email and its built-in text.
pub struct Kind {
    pub key: &'static str,
    pub label: &'static str,
    /// When it is sent, for the admin page.
    pub when: &'static str,
    pub subject: &'static str,
    pub body: &'static str,
    /// Every placeholder it knows, with what it becomes.
    pub vars: &'static [(&'static str, &'static str)],
    /// Placeholders the body must keep.
    pub required: &'static [&'static str],
}

/// An admin's version of one kind.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Custom {
    pub subject: String,
    pub body: String,
}

/// Customised templates by kind key (kinds not in it use the built-in text).
pub type Customs = BTreeMap<String, Custom>;

const PORTAL: (&str, &str) = ("portal", "the portal's name");

pub const LINK_INVITATION: Kind = Kind {
    key: "link_invitation",
    label: "Share link invitation",
    when: "to each recipient named when a share link is created",
    // "Northwind: Summer Roast 2027 — press kit": the brand and what is shared.
    subject: "{portal}: {headline}",
    body: "{sender} shared files with you{title}.\n\n{message}Open: {link}\n\
           The link works until {expires}.\n{password_note}\n\
           If you did not expect this, you can ignore this message.\n",
    vars: &[
        PORTAL,
        ("sender", "the name of the person who shared"),
        ("title", "“: ” and the share's title, or nothing"),
        (
            "headline",
            "the share's title, or “<sender> shared files with you” without one",
        ),
        (
            "message",
            "the sender's message and a blank line, or nothing",
        ),
        ("link", "the link's address"),
        ("expires", "when the link stops working"),
        (
            "password_note",
            "a line saying a password is needed, or nothing",
        ),
    ],
    required: &["link"],
};

pub const PASSWORD_RESET: Kind = Kind {
    key: "password_reset",
    label: "Password reset",
    when: "when someone asks to reset a forgotten password",
    subject: "Reset your {portal} password",
    body: "Hello {name},\n\n\
           Someone (hopefully you) asked to reset the password of your {portal} account.\n\
           Choose a new one here within the next hour:\n\n  {link}\n\n\
           The link works once. If you did not ask for this, ignore this message: your \
           password stays as it is.\n",
    vars: &[
        PORTAL,
        ("name", "the account holder's name"),
        ("link", "the one-time reset address"),
    ],
    required: &["link"],
};

pub const REVIEW_APPROVED: Kind = Kind {
    key: "review_approved",
    label: "Submission approved",
    when: "to the uploader when an admin approves a version",
    subject: "Approved: {asset}",
    body: "{asset} (version {version}) was approved and is now published.\n\n{link}\n",
    vars: &[
        PORTAL,
        ("asset", "the asset's title or file name"),
        ("version", "the version number"),
        ("link", "the asset's page"),
    ],
    required: &[],
};

pub const REVIEW_REJECTED: Kind = Kind {
    key: "review_rejected",
    label: "Changes requested",
    when: "to the uploader when an admin rejects a version",
    subject: "Changes requested: {asset}",
    body: "{asset} (version {version}) was not approved. The reviewer wrote:\n\n{comment}\n\n\
           You can check in a new version here:\n{link}\n",
    vars: &[
        PORTAL,
        ("asset", "the asset's title or file name"),
        ("version", "the version number"),
        ("comment", "the reviewer's comment"),
        ("link", "the asset's page"),
    ],
    required: &["comment"],
};

pub const NEW_ASSETS_DIGEST: Kind = Kind {
    key: "new_assets_digest",
    label: "New assets digest",
    when: "daily or weekly to people who subscribed, when something new was published for them",
    subject: "{count} new in {portal}",
    body: "Hello {name},\n\n\
           Published in {portal} since {since}:\n\n{assets}\n\
           Everything you can see: {library}\n\n\
           You get this {frequency} digest because you asked for it on your account page.\n\
           Change how often: {settings}\n\
           Unsubscribe: {unsubscribe}\n",
    vars: &[
        PORTAL,
        ("name", "the recipient's name"),
        ("count", "how many assets are new, e.g. “3 assets”"),
        ("since", "the start of the period covered"),
        (
            "assets",
            "the list of new assets, one per line with its address",
        ),
        ("library", "the address of the library"),
        ("frequency", "“daily” or “weekly”"),
        ("settings", "the recipient's notification settings"),
        ("unsubscribe", "the one-click unsubscribe address"),
    ],
    required: &["assets", "unsubscribe"],
};

pub const ADMIN_DIGEST: Kind = Kind {
    key: "admin_digest",
    label: "Admin digest",
    when: "daily or weekly to admins, when there are new submissions, things about to expire \
           or webhooks turned off",
    subject: "{portal}: {summary}",
    body: "Hello {name},\n\n{sections}\n\
           You get this {frequency} digest as an admin of {portal}.\n\
           Change how often: {settings}\n\
           Unsubscribe: {unsubscribe}\n",
    vars: &[
        PORTAL,
        ("name", "the admin's name"),
        ("summary", "one line, e.g. “2 submissions, 1 link expiring”"),
        (
            "sections",
            "new submissions, links and assets about to expire, webhooks turned off, \
             each with addresses",
        ),
        ("frequency", "“daily” or “weekly”"),
        ("settings", "the recipient's notification settings"),
        ("unsubscribe", "the one-click unsubscribe address"),
    ],
    required: &["sections", "unsubscribe"],
};

pub const LINK_CODE: Kind = Kind {
    key: "link_code",
    label: "One-time code for a share link",
    when: "to a share link's recipient who asks for a code to open it",
    // The code itself in the subject: read from the notification without opening the mail.
    subject: "{code} is your code for the shared files",
    body: "Your code to open the shared files is:\n\n    {code}\n\nIt works for 10 minutes. \
           If you did not ask for it, ignore this message.\n",
    vars: &[PORTAL, ("code", "the six-digit code")],
    required: &["code"],
};

pub const REVIEW_OUTCOMES: Kind = Kind {
    key: "review_outcomes",
    label: "Review outcomes",
    when: "to a contributor, once a reviewer has decided on two or more of their files within \
           ten minutes of each other (one file gets “Submission approved” or “Changes requested”)",
    subject: "{portal}: {summary}",
    body: "Hello {name},\n\n{reviewer} reviewed {count} of your files:\n\n{items}\
           Your submissions: {link}\n",
    vars: &[
        PORTAL,
        ("name", "the contributor's name"),
        ("reviewer", "who decided (the last reviewer if several)"),
        ("count", "how many files"),
        ("summary", "e.g. “2 files approved, 1 needs changes”"),
        (
            "items",
            "each file with its outcome, the reviewer's comment and its page",
        ),
        ("link", "the contributor's submissions page"),
    ],
    required: &["items"],
};

pub const SUBMISSIONS_WAITING: Kind = Kind {
    key: "submissions_waiting",
    label: "New submissions",
    when: "to admins when contributors send files for review: the first at once, then what \
           arrives within ten minutes in one mail",
    subject: "{summary}",
    body: "{summary}.\n\n{files}The review queue:\n{queue}\n\n\
           (You hear about new submissions at most every ten minutes; what arrives meanwhile \
           comes in one mail.)\n",
    vars: &[
        PORTAL,
        (
            "summary",
            "e.g. “Agency Blue sent 3 files to /Campaigns for review”",
        ),
        ("files", "who sent which files where, one file per line"),
        (
            "contributor",
            "the name of the person who sent the first file",
        ),
        ("file", "the first file's name"),
        ("queue", "the review queue's address"),
        ("link", "the review queue's address (the mail's button)"),
    ],
    required: &["queue"],
};

pub const UPLOAD_LINK_ARRIVALS: Kind = Kind {
    key: "upload_link_arrivals",
    label: "Files through an upload link",
    when: "to the creator of an upload link when files arrive through it (at most every ten \
           minutes per link)",
    subject: "New files through {upload_link}",
    body: "Files are arriving through {upload_link}, starting with {file} from {sender}.\n\n\
           They wait for review here:\n{queue}\n\n\
           (You hear about new arrivals on this link at most every ten minutes.)\n",
    vars: &[
        PORTAL,
        (
            "upload_link",
            "the upload link's title, or “your upload link”",
        ),
        ("file", "the first file's name"),
        ("sender", "the sender's name and email address"),
        ("queue", "the review queue's address"),
    ],
    required: &["queue"],
};

pub const RECALL_NOTICE: Kind = Kind {
    key: "recall_notice",
    label: "Recall and new-version notice",
    when: "to people who downloaded an asset that was replaced by a newer version, archived, \
           withdrawn or recalled (at most one mail a day per person)",
    subject: "Files you downloaded from {portal} have changed",
    body: "Hello {name},\n\n\
           {count} you downloaded from {portal} changed since:\n\n{items}\n\
           Please open the acknowledge address of each once you have dealt with it, so we \
           know this reached you.\n",
    vars: &[
        PORTAL,
        ("name", "the person's name, or their address"),
        ("count", "how many files, e.g. “2 files”"),
        (
            "items",
            "each file: what happened, what to do, and its acknowledge address",
        ),
    ],
    required: &["items"],
};

pub const REQUEST_RECEIVED: Kind = Kind {
    key: "request_received",
    label: "A request to decide",
    when: "to a share link's owner (or every admin when the owner is disabled) when a visitor \
           asks for more time or for their own access, and to admins when a member asks to \
           download",
    subject: "{requester} asks for {what}",
    body: "{requester} asks for {what}{about}.\n\nTheir reason: {reason}\n\n\
           Approve for 7 days: {approve_week}\nApprove for 30 days: {approve_month}\n\
           Deny: {deny}\n\n\
           Each address shows the request and asks you to confirm. You can also decide in \
           the Requests inbox: {inbox}\n",
    vars: &[
        PORTAL,
        ("requester", "the asker's name and email address"),
        ("what", "what is asked, e.g. “more time on a share link”"),
        (
            "about",
            "“ (” and the link's or assets' name and “)”, or nothing",
        ),
        ("reason", "the reason the asker gave"),
        ("approve_week", "the signed address to approve for 7 days"),
        ("approve_month", "the signed address to approve for 30 days"),
        ("deny", "the signed address to deny"),
        ("inbox", "the Requests inbox's address"),
    ],
    required: &["approve_week", "deny"],
};

pub const REQUEST_APPROVED: Kind = Kind {
    key: "request_approved",
    label: "Request approved",
    when: "to the person who asked, when their request is approved",
    subject: "Your request was approved",
    body: "Hello {name},\n\nyour request for {what} was approved. {result}\n",
    vars: &[
        PORTAL,
        ("name", "the asker's name"),
        ("what", "what was asked"),
        (
            "result",
            "what changed and until when, with the address to use",
        ),
    ],
    required: &["result"],
};

pub const REQUEST_DENIED: Kind = Kind {
    key: "request_denied",
    label: "Request declined",
    when: "to the person who asked, when their request is denied",
    subject: "About your request",
    body: "Hello {name},\n\nthank you for asking for {what}. We cannot grant it this time.\n\
           {message}\nIf you think this is a mistake, please contact the person who shared \
           the files with you.\n",
    vars: &[
        PORTAL,
        ("name", "the asker's name"),
        ("what", "what was asked"),
        (
            "message",
            "the decider's message and a blank line, or nothing",
        ),
    ],
    required: &[],
};

pub const INVITATION: Kind = Kind {
    key: "invitation",
    label: "Invitation",
    when: "to a person an admin invites, with the link to set their password",
    subject: "{inviter} invited you to {portal}",
    body:
        "Hello {name},\n\n{inviter} invited you to {portal}, where you will find the files shared \
           with you.\n\nChoose your password here to start:\n\n  {link}\n\n\
           The link works once, until {expires}. If you did not expect this, ignore this \
           message.\n",
    vars: &[
        PORTAL,
        ("name", "the person's name, or their address"),
        ("inviter", "the name of the admin who invited"),
        ("link", "the single-use set-password address"),
        ("expires", "when the link stops working"),
    ],
    required: &["link"],
};

pub const KINDS: &[&Kind] = &[
    &LINK_INVITATION,
    &LINK_CODE,
    &PASSWORD_RESET,
    &REVIEW_APPROVED,
    &REVIEW_REJECTED,
    &REVIEW_OUTCOMES,
    &SUBMISSIONS_WAITING,
    &UPLOAD_LINK_ARRIVALS,
    &NEW_ASSETS_DIGEST,
    &ADMIN_DIGEST,
    &RECALL_NOTICE,
    &REQUEST_RECEIVED,
    &REQUEST_APPROVED,
    &REQUEST_DENIED,
    &SLOTS_FILLED,
    &UPLOAD_RECEIPT,
    &SLOT_REMINDER,
    &UPLOAD_CHANGES_REQUESTED,
    &INVITATION,
];

pub const UPLOAD_CHANGES_REQUESTED: Kind = Kind {
    key: "upload_changes_requested",
    label: "Changes requested from a sender",
    when: "to someone who sent a file through an upload link when a reviewer requests changes \
           on it",
    subject: "Changes requested: {asset}",
    body: "Hello {name},\n\nThe reviewer asked for changes to {asset} (version {version}), \
           which you sent through {upload_link}:\n\n{comment}\n\n{next}\n",
    vars: &[
        PORTAL,
        ("name", "the sender's name"),
        ("asset", "the file's title or name"),
        ("version", "the version number"),
        (
            "upload_link",
            "the upload link's title, or “the upload link”",
        ),
        ("comment", "the reviewer's comment"),
        (
            "next",
            "the upload link's address to send a revision, or that the link has ended",
        ),
    ],
    required: &["comment", "next"],
};

pub const SLOTS_FILLED: Kind = Kind {
    key: "slots_filled",
    label: "Every slot of an upload link filled",
    when: "once, to the creator of an upload link with delivery slots when every slot holds \
           the files its brief asks for",
    subject: "Every slot of {upload_link} is filled",
    body: "Every delivery slot of {upload_link} now holds what the brief asks for:\n\n\
           {slots}\n\nThe files wait for review here:\n{queue}\n",
    vars: &[
        PORTAL,
        (
            "upload_link",
            "the upload link's title, or “your upload link”",
        ),
        (
            "slots",
            "each slot with how many files it holds, one per line",
        ),
        ("queue", "the review queue's address"),
    ],
    required: &["slots"],
};

pub const UPLOAD_RECEIPT: Kind = Kind {
    key: "upload_receipt",
    label: "Receipt for a sender",
    when: "to someone who sent files through an upload link, a minute after their last file \
           arrived",
    subject: "Received: your files for {upload_link}",
    body: "Hello {name},\n\nThank you. These files of yours arrived through {upload_link}:\n\n\
           {files}\n\n{open}They are reviewed before anyone else sees them.\n",
    vars: &[
        PORTAL,
        ("name", "the sender's name"),
        (
            "upload_link",
            "the upload link's title, or “the upload link”",
        ),
        (
            "files",
            "every file the sender delivered, one per line with its slot",
        ),
        (
            "open",
            "the slots still waiting for files and a blank line, or nothing",
        ),
    ],
    required: &["files"],
};

pub const SLOT_REMINDER: Kind = Kind {
    key: "slot_reminder",
    label: "Reminder of empty slots",
    when: "once, to each sender of an upload link that ends soon while some of its slots still \
           wait for files (ASSETPORT_SLOT_REMINDER_HOURS before the end)",
    subject: "{upload_link} ends {expires}: slots still empty",
    body: "Hello {name},\n\n{upload_link} stops taking files on {expires}. These slots still \
           wait for files:\n\n{slots}\n\nUse the address you were given to send them.\n",
    vars: &[
        PORTAL,
        ("name", "the sender's name"),
        (
            "upload_link",
            "the upload link's title, or “the upload link”",
        ),
        ("expires", "when the link ends"),
        ("slots", "the slots still waiting, one per line"),
    ],
    required: &["slots"],
};

pub fn kind(key: &str) -> Option<&'static Kind> {
    KINDS.iter().copied().find(|k| k.key == key)
}

const MAX_SUBJECT: usize = 200;
const MAX_BODY: usize = 20_000;

/// The subject and body of `kind` with `vars` filled in (`portal` is added by the caller's
/// `vars` or by `Mailer`). A customised template wins over the built-in one.
pub fn render(customs: &Customs, kind: &Kind, vars: &[(&str, &str)]) -> (String, String) {
    let (subject, body) = match customs.get(kind.key) {
        Some(c) => (c.subject.as_str(), c.body.as_str()),
        None => (kind.subject, kind.body),
    };
    // A subject is one line whatever a value holds.
    let subject = fill(subject, vars).replace(['\r', '\n'], " ");
    (subject, fill(body, vars))
}

/// Replaces every `{name}` that `vars` knows; anything else is left as written.
fn fill(template: &str, vars: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(template.len() + 256);
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let value = placeholder(after).and_then(|name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (name.len(), *v))
        });
        match value {
            Some((len, v)) => {
                out.push_str(v);
                rest = &after[len + 1..];
            }
            None => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// The name of a placeholder starting right after a `{`: lowercase letters and `_`, then `}`.
fn placeholder(after_brace: &str) -> Option<&str> {
    let end = after_brace.find('}')?;
    let name = &after_brace[..end];
    (!name.is_empty()
        && name.len() <= 40
        && name.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'))
    .then_some(name)
}

fn placeholders(text: &str) -> Vec<&str> {
    text.match_indices('{')
        .filter_map(|(i, _)| placeholder(&text[i + 1..]))
        .collect()
}

/// Checks an admin's template; the error is a sentence for the form.
pub fn validate(kind: &Kind, subject: &str, body: &str) -> Result<Custom, String> {
    let subject = subject.trim();
    let body = body.replace("\r\n", "\n");
    if subject.is_empty() {
        return Err("the subject is empty".into());
    }
    if subject.chars().count() > MAX_SUBJECT || subject.contains(['\r', '\n']) {
        return Err(format!(
            "the subject must be one line of at most {MAX_SUBJECT} characters"
        ));
    }
    if body.trim().is_empty() {
        return Err("the text is empty".into());
    }
    if body.chars().count() > MAX_BODY {
        return Err(format!("the text is limited to {MAX_BODY} characters"));
    }
    for name in placeholders(subject).into_iter().chain(placeholders(&body)) {
        if !kind.vars.iter().any(|(k, _)| *k == name) {
            return Err(format!("{{{name}}} is not a placeholder of this email"));
        }
    }
    for name in kind.required {
        if !placeholders(&body).contains(name) {
            return Err(format!("the text must contain {{{name}}}"));
        }
    }
    Ok(Custom {
        subject: subject.to_string(),
        body,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fills_known_placeholders_once() {
        let vars = [("name", "Ann {link}"), ("link", "https://x/r/1")];
        assert_eq!(
            fill("Hi {name}, go to {link}. {unknown} {Name} {", &vars),
            "Hi Ann {link}, go to https://x/r/1. {unknown} {Name} {"
        );
    }

    #[test]
    fn built_in_templates_are_valid() {
        for kind in KINDS {
            validate(kind, kind.subject, kind.body).unwrap_or_else(|e| panic!("{}: {e}", kind.key));
        }
    }

    #[test]
    fn refuses_unknown_and_missing_placeholders() {
        let err = validate(&PASSWORD_RESET, "Reset", "Go to {linck}").unwrap_err();
        assert!(err.contains("{linck}"), "{err}");
        let err = validate(&PASSWORD_RESET, "Reset", "No link here").unwrap_err();
        assert!(err.contains("{link}"), "{err}");
        assert!(validate(&PASSWORD_RESET, "Two\nlines", "{link}").is_err());
        assert!(validate(&PASSWORD_RESET, " ", "{link}").is_err());
        let ok = validate(&PASSWORD_RESET, " Reset {portal} ", "Here: {link}\r\n").unwrap();
        assert_eq!(ok.subject, "Reset {portal}");
        assert_eq!(ok.body, "Here: {link}\n");
    }

    #[test]
    fn subject_stays_one_line() {
        let mut customs = Customs::new();
        customs.insert(
            "review_approved".into(),
            Custom {
                subject: "Approved: {asset}".into(),
                body: "{link}".into(),
            },
        );
        let (s, b) = render(
            &customs,
            &REVIEW_APPROVED,
            &[("asset", "a\r\nBcc: x@y"), ("link", "L")],
        );
        assert_eq!(s, "Approved: a  Bcc: x@y");
        assert_eq!(b, "L");
    }
}
