//! The data a release holds (volumes, Secrets), to tell it kept.

use super::*;

/// A PVC or Secret as recorded before a step and compared after it.
#[derive(Clone, Debug, PartialEq)]
pub struct Held {
    pub kind: String,
    pub name: String,
    pub uid: String,
    /// Secret: its data (key -> base64); PVC: {"volume": volumeName}.
    pub data: BTreeMap<String, String>,
    pub owners: usize,
}

impl Held {
    pub fn sha(&self) -> String {
        sha256_hex(serde_json::to_string(&self.data).unwrap().as_bytes())[..16].to_string()
    }
}

/// The namespace's PVCs and Secrets (all of them, or only the generated
/// ones), Helm's release records left out.
pub fn held(cluster: &Cluster, ns: &str, generated_only: bool) -> BTreeMap<String, Held> {
    let list = get(cluster, &["-n", ns, "secrets,persistentvolumeclaims"]).unwrap();
    let mut out = BTreeMap::new();
    for item in items(&list) {
        let kind = text(&item, "/kind").to_string();
        let name = text(&item, "/metadata/name").to_string();
        if text(&item, "/type") == "helm.sh/release.v1" {
            continue;
        }
        let generated = item["metadata"]["annotations"][GENERATED_KEYS].is_string();
        if generated_only && kind == "Secret" && !generated {
            continue;
        }
        let data = if kind == "Secret" {
            secret_data(&item)
        } else {
            BTreeMap::from([(
                "volume".to_string(),
                text(&item, "/spec/volumeName").to_string(),
            )])
        };
        out.insert(
            format!("{kind}/{name}"),
            Held {
                uid: text(&item, "/metadata/uid").to_string(),
                owners: item["metadata"]["ownerReferences"]
                    .as_array()
                    .map_or(0, Vec::len),
                kind,
                name,
                data,
            },
        );
    }
    out
}

/// Prints what is held, one line per object with its uid and data's hash.
pub fn print_held(what: &str, held: &BTreeMap<String, Held>) {
    eprintln!("[chart] {what}:");
    for d in held.values() {
        eprintln!(
            "    {:<50} uid {} sha256 {}",
            format!("{}/{}", d.kind, d.name),
            d.uid,
            d.sha()
        );
    }
}

/// Compares what was held before with what is there now: every object
/// still there with its uid and its data. `fill_empty` allows keys that
/// were empty or absent before to have gained a value. Returns the
/// problems and the keys that were filled.
pub fn compare_held(
    before: &BTreeMap<String, Held>,
    now: &BTreeMap<String, Held>,
    fill_empty: bool,
) -> (Vec<String>, Vec<String>) {
    let mut problems = Vec::new();
    let mut filled = Vec::new();
    for (key, b) in before {
        let Some(n) = now.get(key) else {
            problems.push(format!("{key} was deleted"));
            continue;
        };
        if n.uid != b.uid {
            problems.push(format!("{key} was recreated (uid {} -> {})", b.uid, n.uid));
        }
        for (k, v) in &b.data {
            match n.data.get(k) {
                None => problems.push(format!("{key}: {k} was removed")),
                Some(nv) if nv == v => {}
                Some(_) if fill_empty && v.is_empty() => filled.push(format!("{key}: {k}")),
                Some(_) => problems.push(format!("{key}: {k} changed")),
            }
        }
        for k in n.data.keys().filter(|k| !b.data.contains_key(*k)) {
            if fill_empty {
                filled.push(format!("{key}: {k} (new)"));
            } else {
                problems.push(format!("{key}: {k} was added"));
            }
        }
    }
    (problems, filled)
}

/// Asserts [`compare_held`] finds no problem after `what`; returns the keys
/// that were filled.
pub fn assert_kept(
    what: &str,
    before: &BTreeMap<String, Held>,
    now: &BTreeMap<String, Held>,
    fill_empty: bool,
) -> Vec<String> {
    let (problems, filled) = compare_held(before, now, fill_empty);
    assert!(
        problems.is_empty(),
        "{what} lost or changed data:\n{}",
        problems.join("\n")
    );
    filled
}

/// SHA-256 (FIPS 180-4), for the record of data hashes.
pub fn sha256_hex(data: &[u8]) -> String {
    const K: [u32; 64] = [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
        0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
        0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
        0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
        0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
        0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
        0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
        0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
        0xc67178f2,
    ];
    let mut h: [u32; 8] = [
        0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab,
        0x5be0cd19,
    ];
    let mut msg = data.to_vec();
    msg.push(0x80);
    while msg.len() % 64 != 56 {
        msg.push(0);
    }
    msg.extend_from_slice(&((data.len() as u64) * 8).to_be_bytes());
    for chunk in msg.chunks(64) {
        let mut w = [0u32; 64];
        for i in 0..16 {
            w[i] = u32::from_be_bytes(chunk[4 * i..4 * i + 4].try_into().unwrap());
        }
        for i in 16..64 {
            let s0 = w[i - 15].rotate_right(7) ^ w[i - 15].rotate_right(18) ^ (w[i - 15] >> 3);
            let s1 = w[i - 2].rotate_right(17) ^ w[i - 2].rotate_right(19) ^ (w[i - 2] >> 10);
            w[i] = w[i - 16]
                .wrapping_add(s0)
                .wrapping_add(w[i - 7])
                .wrapping_add(s1);
        }
        let [mut a, mut b, mut c, mut d, mut e, mut f, mut g, mut hh] = h;
        for i in 0..64 {
            let s1 = e.rotate_right(6) ^ e.rotate_right(11) ^ e.rotate_right(25);
            let ch = (e & f) ^ (!e & g);
            let t1 = hh
                .wrapping_add(s1)
                .wrapping_add(ch)
                .wrapping_add(K[i])
                .wrapping_add(w[i]);
            let s0 = a.rotate_right(2) ^ a.rotate_right(13) ^ a.rotate_right(22);
            let maj = (a & b) ^ (a & c) ^ (b & c);
            let t2 = s0.wrapping_add(maj);
            hh = g;
            g = f;
            f = e;
            e = d.wrapping_add(t1);
            d = c;
            c = b;
            b = a;
            a = t1.wrapping_add(t2);
        }
        for (x, y) in h.iter_mut().zip([a, b, c, d, e, f, g, hh]) {
            *x = x.wrapping_add(y);
        }
    }
    h.iter().map(|x| format!("{x:08x}")).collect()
}
