//! Every parameter of the holdout world, one documented constant each, grouped by what it
//! shapes: the customers, their sessions, their challenges, and the attack campaigns.
//!
//! These numbers are this world's own, chosen for a mobile-first bank; they are not derived
//! from the main generator's and must never be tuned to make a model look good here.
//! `data/holdout-world.md` explains each group. Changing any of them changes the output.

// --- Customers -------------------------------------------------------------------------------

/// Home cities (rows of `data/geo/demo-geo.csv`, see [`super::places::CITIES`]) and the share of
/// customers living in each.
pub const HOME_CITY_SHARES: [(usize, f64); 7] = [
    (8, 0.22),  // Madrid
    (9, 0.17),  // Rome
    (10, 0.11), // Amsterdam
    (15, 0.15), // Toronto
    (16, 0.15), // Sao Paulo
    (18, 0.10), // Singapore
    (20, 0.10), // Sydney
];
/// Share of households of two customers who share a tablet (both use its app and browser).
pub const SHARED_TABLET_SHARE: f64 = 0.16;
/// Share of customers who also use a desktop or laptop browser.
pub const DESKTOP_SHARE: f64 = 0.45;
/// Share of customers whose device languages do not fit their home country (expats).
pub const EXPAT_SHARE: f64 = 0.09;
/// Share of customers reaching the web chat from a corporate VPN on weekday office hours.
pub const CORPORATE_VPN_SHARE: f64 = 0.05;
/// Share of customers who open their account during the log (no history before it).
pub const NEW_CUSTOMER_SHARE: f64 = 0.08;
/// Mean chat sessions per customer per day (each customer's rate is log-normal around it).
pub const SESSIONS_PER_DAY: f64 = 0.22;
/// Spread (log-scale sd) of the per-customer session rate.
pub const SESSION_RATE_LOG_SD: f64 = 0.9;
/// Hour habits: (share, peak local hour, spread in hours). Day people, evening people, night
/// workers.
pub const CHRONOTYPES: [(f64, f64, f64); 3] =
    [(0.42, 12.5, 3.0), (0.46, 21.0, 2.0), (0.12, 3.0, 2.0)];
/// Trips per customer per day (one trip at most in the log).
pub const TRIP_RATE_PER_DAY: f64 = 0.004;
/// Shortest and longest trip, days.
pub const TRIP_DAYS: (i64, i64) = (2, 12);
/// Share of trips that are long-haul (any city of the geo table) rather than a nearby one.
pub const LONG_HAUL_TRIP_SHARE: f64 = 0.45;
/// Share of travellers whose phone keeps the home time zone abroad.
pub const TRAVEL_KEEPS_HOME_TZ: f64 = 0.25;
/// New phones per customer per day (one at most in the log).
pub const NEW_PHONE_RATE_PER_DAY: f64 = 0.0012;
/// Share of new phones that come with a new SIM (a fresh `sim_changed_at`, like a SIM swap).
pub const NEW_PHONE_NEW_SIM: f64 = 0.5;
/// Days a new phone or a new customer is labelled as such (`genuine_new_phone`, ...).
pub const SETTLING_DAYS: i64 = 14;
/// Oldest SIM change of an established customer before the log starts, days.
pub const OLD_SIM_MAX_DAYS: i64 = 1_500;

// --- Sessions --------------------------------------------------------------------------------

/// Share of each channel as a customer's favourite: in_app, whatsapp, web_widget, sms, social.
pub const FAVOURITE_CHANNEL: [f64; 5] = [0.50, 0.24, 0.14, 0.08, 0.04];
/// Probability a session uses the favourite channel; otherwise one drawn by [`FAVOURITE_CHANNEL`].
pub const FAVOURITE_CHANNEL_LOYALTY: f64 = 0.72;
/// Probability a session goes on with a second request after its login (same session id).
pub const FOLLOW_UP_SHARE: f64 = 0.55;
/// Follow-up actions and their shares: view_account, view_transactions, card_control, payment,
/// add_payee, change_contact, change_password.
pub const FOLLOW_UP_ACTIONS: [f64; 7] = [0.27, 0.22, 0.10, 0.22, 0.08, 0.06, 0.05];
/// Seconds between a session's requests: (shortest, longest).
pub const FOLLOW_UP_GAP_S: (i64, i64) = (30, 600);
/// In-app sessions at home that use the home Wi-Fi (the rest use mobile data).
pub const HOME_WIFI_SHARE: f64 = 0.45;
/// Probability an in-app request reports `sim_changed_at` (SMS and WhatsApp always do).
pub const IN_APP_SIM_CHECK: f64 = 0.5;
/// Probability an in-app or web request carries key timings (the rest are taps or pastes).
pub const TYPING_SHARE: f64 = 0.8;
/// Probability a web session starts on a cleared cookie (a new device id).
pub const COOKIE_CLEAR_SHARE: f64 = 0.04;
/// While travelling: share of sessions on hotel Wi-Fi, on home-routed roaming data (an IP of
/// the home city), and on a local SIM.
pub const TRIP_NETWORK: [f64; 3] = [0.45, 0.4, 0.15];
/// Probability a genuine request reports 1 or 2 earlier failed attempts in its session.
pub const GENUINE_FAILED_ATTEMPT: (f64, f64) = (0.05, 0.012);

// --- Challenges and outcomes -----------------------------------------------------------------

/// Probability a genuine request is challenged, by sensitivity: low, medium, high.
pub const CHALLENGE_BY_SENSITIVITY: [f64; 3] = [0.12, 0.32, 0.75];
/// A customer's first sessions are always challenged (enrolment).
pub const ENROLMENT_SESSIONS: usize = 3;
/// Probability a genuine customer passes the one-time code (else `otp_failed`, then KBA).
pub const GENUINE_OTP_PASS: f64 = 0.95;
/// Probability a genuine customer who failed the code passes KBA.
pub const GENUINE_KBA_PASS: f64 = 0.85;
/// Probability an analyst later confirms a genuine request as safe.
pub const GENUINE_CONFIRMED_SAFE: f64 = 0.006;
/// Seconds from a request to its challenge outcome: (shortest, longest).
pub const OUTCOME_DELAY_S: (i64, i64) = (15, 150);
/// Hours from a request to an analyst's confirmation: (shortest, longest). Under the 168 h the
/// engine keeps a request's evidence pending.
pub const CONFIRMATION_DELAY_H: (i64, i64) = (20, 150);

// --- Attacks ---------------------------------------------------------------------------------

/// Attack requests as a share of all scored requests.
pub const ATTACK_SHARE: f64 = 0.06;
/// Attacks do not start before this share of the log has passed (customers need history).
pub const ATTACK_WARMUP_SHARE: f64 = 0.2;
/// Where attackers who are not local to the victim live (rows of the geo table).
pub const ATTACKER_CITIES: [usize; 6] = [21, 23, 22, 24, 17, 16];
/// Share of each tactic among attack requests, in [`super::Scenario::TACTICS`] order.
pub const TACTIC_SHARES: [f64; 6] = [0.15, 0.16, 0.15, 0.19, 0.15, 0.20];
/// Share of campaigns the bank later confirms as fraud, by tactic (`confirmed_fraud` on their
/// high-sensitivity requests). Helpdesk and MFA-fatigue campaigns can be confirmed only when
/// they succeeded (knowledge questions passed, victim gave in); stuffing never is.
pub const CONFIRMED_FRAUD: [f64; 6] = [0.65, 0.40, 0.50, 0.80, 0.35, 0.0];

/// SIM swap: hours between the swap and the first request, (shortest, longest).
pub const SIM_SWAP_AGE_H: (i64, i64) = (1, 36);
/// SIM swap: channel shares, sms, whatsapp, in_app.
pub const SIM_SWAP_CHANNELS: [f64; 3] = [0.35, 0.35, 0.30];
/// SIM swap: share of fraudsters local to the victim (their city's mobile carrier).
pub const SIM_SWAP_LOCAL: f64 = 0.6;
/// SIM swap: the new SIM receives the codes, so challenges pass this often.
pub const SIM_SWAP_OTP_PASS: f64 = 0.9;
/// SIM swap: requests per campaign after the login, (fewest, most).
pub const SIM_SWAP_STEPS: (usize, usize) = (1, 5);

/// Device theft: network shares: hosting, residential proxy, a broadband line of the victim's
/// own city (a geo-targeted proxy), a foreign mobile network.
pub const THEFT_NETWORK: [f64; 4] = [0.35, 0.20, 0.25, 0.20];
/// Device theft: share of requests without key timings (a replayed API session).
pub const THEFT_NO_TYPING: f64 = 0.6;
/// Device theft: the victim approves the code anyway this often.
pub const THEFT_OTP_PASS: f64 = 0.15;
/// Device theft: requests per campaign, (fewest, most).
pub const THEFT_STEPS: (usize, usize) = (2, 5);

/// Helpdesk social engineering: warm-up requests before the contact change, (fewest, most).
pub const HELPDESK_WARMUP: (usize, usize) = (2, 4);
/// Helpdesk: channel shares, web_widget, social, whatsapp.
pub const HELPDESK_CHANNELS: [f64; 3] = [0.6, 0.25, 0.15];
/// Helpdesk: share of attackers who spoof the victim's time zone and languages.
pub const HELPDESK_SPOOF: f64 = 0.75;
/// Helpdesk: network shares: VPN, the victim's city broadband, residential proxy, own line.
pub const HELPDESK_NETWORK: [f64; 4] = [0.35, 0.25, 0.20, 0.20];
/// Helpdesk: leaked personal data passes the knowledge questions this often.
pub const HELPDESK_KBA_PASS: f64 = 0.55;
/// Helpdesk: share of campaigns that also change the password.
pub const HELPDESK_PASSWORD: f64 = 0.4;

/// MFA fatigue: pushes sent before the attacker stops, (fewest, most).
pub const FATIGUE_PUSHES: (usize, usize) = (4, 13);
/// MFA fatigue: the victim gives in on some push this often.
pub const FATIGUE_GIVE_IN: f64 = 0.2;
/// MFA fatigue: network shares: foreign broadband, VPN, hosting, the victim's city mobile.
pub const FATIGUE_NETWORK: [f64; 4] = [0.40, 0.30, 0.15, 0.15];

/// Mule ring: accounts per ring, (fewest, most).
pub const MULE_ACCOUNTS: (usize, usize) = (3, 8);
/// Mule ring: phones the ring shares across its accounts, (fewest, most).
pub const MULE_PHONES: (usize, usize) = (1, 2);
/// Mule ring: share of rings recruited in one of the bank's home cities.
pub const MULE_LOCAL: f64 = 0.6;
/// Mule ring: requests per account, (fewest, most), over this many days.
pub const MULE_REQUESTS: (usize, usize) = (3, 9);
/// Mule ring: days an account is active, (fewest, most).
pub const MULE_DAYS: (i64, i64) = (2, 10);

/// Proxy-pool stuffing: attempts per campaign, (fewest, most).
pub const STUFFING_ATTEMPTS: (usize, usize) = (40, 220);
/// Proxy-pool stuffing: hours a campaign is spread over, (shortest, longest).
pub const STUFFING_HOURS: (i64, i64) = (4, 20);
/// Proxy-pool stuffing: share of attempts through the residential proxy range (the rest go
/// through phones on mobile networks, one address per attempt).
pub const STUFFING_RESIDENTIAL_PROXY: f64 = 0.45;
/// Proxy-pool stuffing: share of targeted ids that are not customers of this bank.
pub const STUFFING_UNKNOWN_USERS: f64 = 0.2;
/// Proxy-pool stuffing: share of attempts with a cookie id (fresh each time).
pub const STUFFING_DEVICE_ID: f64 = 0.6;
/// Proxy-pool stuffing: share of attempts with scripted, machine-regular typing.
pub const STUFFING_SCRIPTED_TYPING: f64 = 0.2;
/// Proxy-pool stuffing: share of attempts whose time zone follows the proxy's location.
pub const STUFFING_TZ_FOLLOWS_IP: f64 = 0.5;
/// Proxy-pool stuffing: share of attempts with valid credentials that reach a failed code.
pub const STUFFING_HITS: f64 = 0.04;
