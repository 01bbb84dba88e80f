//! Owner cookies, keys and the request facts the limits key on.

use super::*;

fn parts(headers: &[(&str, &str)]) -> Parts {
    let mut b = http::Request::builder().uri("/");
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    b.body(()).expect("request").into_parts().0
}

#[test]
fn a_rotated_key_still_accepts_the_cookies_the_previous_one_signed() {
    let (old, new) = (OwnerKey::generate(), OwnerKey::generate());
    let owner = OwnerId::generate();
    let before = old.sign(&owner);
    assert_eq!(new.verify(&before), None, "another key alone refuses it");
    let rotated = new.clone().with_previous(Some(&old));
    assert_eq!(rotated.verify(&before), Some(owner.clone()));
    // Signed again with the new key, which alone accepts it from then on.
    let after = rotated.sign(&owner);
    assert_ne!(after, before);
    assert_eq!(new.verify(&after), Some(owner.clone()));
    // A forged tag is still refused.
    let forged = format!("{}.{}", owner.as_str(), "0".repeat(32));
    assert_eq!(rotated.verify(&forged), None);
}

#[test]
fn keyed_hashes_are_stable_under_a_key_and_unguessable_without_it() {
    let (key, other) = (OwnerKey::generate(), OwnerKey::generate());
    let h = key.keyed_hash("limits", "ip:203.0.113.7");
    assert_eq!(h, key.keyed_hash("limits", "ip:203.0.113.7"));
    assert_eq!(h.len(), 32);
    assert_ne!(h, other.keyed_hash("limits", "ip:203.0.113.7"));
    assert_ne!(h, key.keyed_hash("limits", "ip:203.0.113.8"));
    assert_ne!(h, key.keyed_hash("other-purpose", "ip:203.0.113.7"));
}

#[test]
fn generated_ids_are_unique_and_parse() {
    let a = SessionId::generate();
    let b = SessionId::generate();
    assert_ne!(a, b);
    assert_eq!(SessionId::parse(a.as_str()), Some(a.clone()));
    assert_eq!(a.as_str().len(), 64);
    assert!(
        !format!("{a:?}").contains(&a.as_str()[8..]),
        "Debug must not leak the id"
    );
}

#[test]
fn forged_and_garbage_ids_are_rejected() {
    for bad in [
        "",
        "abc",
        &"g".repeat(64),
        &"A".repeat(64),
        &"a".repeat(65),
        "../../etc/passwd",
    ] {
        assert_eq!(SessionId::parse(bad), None, "{bad:?}");
    }
}

#[test]
fn reads_cookies_across_headers_and_ignores_junk() {
    let key = OwnerKey::generate();
    let owner = OwnerId::generate();
    let p = parts(&[
        ("cookie", "a=1; junk; =x"),
        (
            "cookie",
            &format!("other=2; {OWNER_COOKIE}={}", key.sign(&owner)),
        ),
    ]);
    assert_eq!(owner_from(&p, &key), Some(owner));
    assert_eq!(
        owner_from(&parts(&[("cookie", "hc_owner=zzz")]), &key),
        None
    );
    assert_eq!(owner_from(&parts(&[]), &key), None);
}

#[test]
fn only_owner_cookies_this_server_signed_count() {
    let key = OwnerKey::generate();
    let owner = OwnerId::generate();
    let signed = key.sign(&owner);
    assert_eq!(key.verify(&signed), Some(owner.clone()));
    // Unsigned (the old format), signed by another key, a tag for another id, truncated.
    let other = OwnerKey::generate().sign(&owner);
    let (_, tag) = signed.split_once('.').expect("tag");
    let swapped = format!("{}.{tag}", OwnerId::generate().as_str());
    for forged in [
        owner.as_str().to_string(),
        other,
        swapped,
        signed[..signed.len() - 1].to_string(),
        format!("{signed}0"),
        format!("{}.{}", owner.as_str(), "0".repeat(32)),
    ] {
        assert_eq!(key.verify(&forged), None, "{forged}");
    }
}

#[test]
fn a_persons_owner_id_is_keyed_and_no_cookie_can_name_it() {
    let key = OwnerKey::generate();
    let alice = key.person("accounts.google.com:111");
    assert_eq!(alice, key.person("accounts.google.com:111"));
    assert_ne!(alice, key.person("accounts.google.com:222"));
    assert_ne!(
        alice,
        OwnerKey::generate().person("accounts.google.com:111")
    );
    // An unsigned cookie naming that id is nobody.
    let p = parts(&[("cookie", &format!("{OWNER_COOKIE}={}", alice.as_str()))]);
    assert_eq!(owner_from(&p, &key), None);
}

#[test]
fn owner_cookie_flags_and_https_prefix() {
    let key = OwnerKey::generate();
    let owner = OwnerId::generate();
    let (_, v) = owner_cookie(&owner, &key, true);
    let v = v.to_str().expect("ascii");
    assert!(v.starts_with("__Host-hc_owner="), "{v}");
    assert!(v.contains("HttpOnly") && v.contains("SameSite=Lax") && v.contains("Secure"));
    assert!(v.contains("Path=/") && !v.contains("Domain"));
    let (_, v) = owner_cookie(&owner, &key, false);
    let v = v.to_str().expect("ascii");
    assert!(v.starts_with("hc_owner=") && !v.contains("Secure"), "{v}");
    assert!(is_https(&parts(&[("x-forwarded-proto", "https")])));
    assert!(!is_https(&parts(&[])));
    // Over HTTPS only the prefixed cookie counts.
    let plain = format!("{OWNER_COOKIE}={}", key.sign(&owner));
    let p = parts(&[("x-forwarded-proto", "https"), ("cookie", &plain)]);
    assert_eq!(owner_from(&p, &key), None);
}

#[test]
fn addresses_are_keyed_by_ipv4_or_ipv6_slash_64() {
    let at = |ip: &str| {
        let mut p = parts(&[]);
        p.extensions.insert(PeerIp(ip.parse().expect("ip")));
        address_key(&p)
    };
    assert_eq!(at("2001:db8:1:2:aaaa::1"), at("2001:db8:1:2:bbbb::9"));
    assert_ne!(at("2001:db8:1:2::1"), at("2001:db8:1:3::1"));
    assert_eq!(at("::ffff:192.0.2.7"), at("192.0.2.7"));
    assert_ne!(at("192.0.2.7"), at("192.0.2.8"));
}
