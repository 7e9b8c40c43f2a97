//! Where and why an authentication event happens: the chat [`Channel`] and the [`Action`] the
//! customer is attempting, with its [`Sensitivity`].

use serde::{Deserialize, Serialize};

/// The chat surface an event arrives on. Weaker channels (SMS, social) carry less device evidence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// Chat widget embedded in the bank's web site (browser signals available).
    WebWidget,
    /// Chat inside the bank's own mobile app (device id is app-bound).
    InApp,
    /// WhatsApp Business conversation (no browser, no keystroke timing in general).
    Whatsapp,
    /// SMS conversation (phone number only).
    Sms,
    /// Social network messaging (Messenger, Instagram, X …).
    Social,
}

impl Channel {
    /// Every channel, in a fixed order (feature one-hot order).
    pub const ALL: [Channel; 5] = [
        Channel::WebWidget,
        Channel::InApp,
        Channel::Whatsapp,
        Channel::Sms,
        Channel::Social,
    ];

    /// Stable snake_case name, as on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::WebWidget => "web_widget",
            Channel::InApp => "in_app",
            Channel::Whatsapp => "whatsapp",
            Channel::Sms => "sms",
            Channel::Social => "social",
        }
    }

    /// Index in [`Channel::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }
}

/// How much damage a wrongly allowed action can do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sensitivity {
    /// Read-only, low-value information.
    Low,
    /// Signing in, viewing personal data.
    Medium,
    /// Moving money or changing how the account is recovered.
    High,
}

impl Sensitivity {
    /// 0 (low) … 2 (high), the value of the `context.action_sensitivity` feature.
    pub fn level(self) -> u8 {
        self as u8
    }
}

/// What the customer is trying to do in this chat event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Authenticate at the start of a conversation.
    Login,
    /// Look at balances or account details.
    ViewAccount,
    /// Look at transaction history.
    ViewTransactions,
    /// Change phone number, e-mail or postal address (account-recovery channels).
    ChangeContact,
    /// Change password or PIN.
    ChangePassword,
    /// Add a new payee or beneficiary.
    AddPayee,
    /// Send money.
    Payment,
    /// Freeze, unfreeze or reissue a card.
    CardControl,
}

impl Action {
    /// Every action, in a fixed order.
    pub const ALL: [Action; 8] = [
        Action::Login,
        Action::ViewAccount,
        Action::ViewTransactions,
        Action::ChangeContact,
        Action::ChangePassword,
        Action::AddPayee,
        Action::Payment,
        Action::CardControl,
    ];

    /// Stable snake_case name, as on the wire and in policy files.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Login => "login",
            Action::ViewAccount => "view_account",
            Action::ViewTransactions => "view_transactions",
            Action::ChangeContact => "change_contact",
            Action::ChangePassword => "change_password",
            Action::AddPayee => "add_payee",
            Action::Payment => "payment",
            Action::CardControl => "card_control",
        }
    }

    /// Parses the wire name.
    pub fn from_name(name: &str) -> Option<Action> {
        Action::ALL.into_iter().find(|a| a.as_str() == name)
    }

    /// Default sensitivity (a policy file may override it per action).
    pub fn sensitivity(self) -> Sensitivity {
        match self {
            Action::ViewAccount | Action::ViewTransactions => Sensitivity::Low,
            Action::Login | Action::CardControl => Sensitivity::Medium,
            Action::ChangeContact | Action::ChangePassword | Action::AddPayee | Action::Payment => {
                Sensitivity::High
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_through_serde() {
        for a in Action::ALL {
            let json = serde_json::to_string(&a).expect("serialize");
            assert_eq!(json, format!("\"{}\"", a.as_str()));
            assert_eq!(Action::from_name(a.as_str()), Some(a));
        }
        for c in Channel::ALL {
            let json = serde_json::to_string(&c).expect("serialize");
            assert_eq!(json, format!("\"{}\"", c.as_str()));
            assert_eq!(Channel::ALL[c.index()], c);
        }
    }

    #[test]
    fn money_movement_is_high_sensitivity() {
        assert_eq!(Action::Payment.sensitivity(), Sensitivity::High);
        assert_eq!(Action::ViewAccount.sensitivity().level(), 0);
        assert_eq!(Action::ChangeContact.sensitivity().level(), 2);
    }
}
