//! TEMPORARY stand-in with the agreed interface (replaced by the geo branch).
#![allow(missing_docs, dead_code)]
use std::net::IpAddr;
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Lookup<T> { Found(T), NotFound, Unavailable }
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Location<'a> { pub country: Option<&'a str>, pub city: Option<&'a str>, pub latitude: f64, pub longitude: f64, pub radius_km: f64, pub time_zone: Option<&'a str> }
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Reputation { pub anonymous_vpn: bool, pub hosting_provider: bool, pub tor_exit: bool, pub public_proxy: bool, pub residential_proxy: bool }
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Asn<'a> { pub number: u32, pub organization: Option<&'a str> }
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct ListMatch { pub blocked: bool, pub allowed: bool }
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct IpIntel<'a> { pub location: Lookup<Location<'a>>, pub reputation: Lookup<Reputation>, pub asn: Lookup<Asn<'a>>, pub lists: ListMatch }
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GeoSources { pub city: Option<String>, pub asn: Option<String>, pub anonymous_ip: Option<String> }
#[derive(Debug, thiserror::Error)]
pub enum EnrichError { #[error("x")] X }
#[derive(Debug)]
pub struct Enricher;
impl Enricher {
    pub fn open(_s: &GeoSources, _b: &[String], _a: &[String]) -> Result<(Enricher, Vec<String>), EnrichError> { Ok((Enricher, vec![])) }
    pub fn lookup(&self, _ip: IpAddr) -> IpIntel<'_> { IpIntel { location: Lookup::Unavailable, reputation: Lookup::Unavailable, asn: Lookup::Unavailable, lists: ListMatch::default() } }
}
