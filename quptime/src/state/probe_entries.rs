//! Reading probe settings one key at a time, from the document's own
//! deserializer, for readers that must keep an error's place in the file.
//!
//! serde's `#[serde(flatten)]` buffers the keys it does not know and reads
//! them afterwards; the YAML reader then places an unknown key at the start
//! of its record instead of on its own line. A declaration promises
//! `line 12 column 5: unknown field …`, so its reader walks the map itself
//! and hands each key it does not own to [`ProbeFields::read_entry`], which
//! lets the probe type whose field it is read the value in place (through a
//! one-entry map), with the type's own serde attributes and checks.

use std::marker::PhantomData;

use serde::de::value::StrDeserializer;
use serde::de::{self, DeserializeSeed, Deserializer, IntoDeserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::probe::{DnsProbe, HttpProbe, IcmpProbe, PushProbe, TcpProbe, TlsProbe};
use super::probe_fields::ProbeFields;

impl ProbeFields {
    /// If `key` names a probe setting, read its value from `map` into
    /// `self` and answer `true`; otherwise leave the value unread and
    /// answer `false`. Errors come from the document's deserializer, at the
    /// value's place.
    pub fn read_entry<'de, A: MapAccess<'de>>(
        &mut self,
        key: &str,
        map: &mut A,
    ) -> Result<bool, A::Error> {
        if field_names::<HttpProbe>().contains(&key) {
            read_into(&mut self.http, key, map)?;
        } else if field_names::<TlsProbe>().contains(&key) {
            read_into(&mut self.tls, key, map)?;
        } else if field_names::<DnsProbe>().contains(&key) {
            read_into(&mut self.dns, key, map)?;
        } else if field_names::<TcpProbe>().contains(&key) {
            read_into(&mut self.tcp, key, map)?;
        } else if field_names::<IcmpProbe>().contains(&key) {
            read_into(&mut self.icmp, key, map)?;
        } else if push_names().contains(&key) {
            read_into(&mut self.push, key, map)?;
        } else {
            return Ok(false);
        }
        Ok(true)
    }

    /// Every probe setting's name, for an "expected one of" list.
    pub fn names() -> Vec<&'static str> {
        let mut all = field_names::<HttpProbe>().to_vec();
        all.extend(field_names::<TlsProbe>());
        all.extend(field_names::<DnsProbe>());
        all.extend(field_names::<TcpProbe>());
        all.extend(field_names::<IcmpProbe>());
        all.extend(push_names());
        all
    }
}

/// The push settings a document may name (the token hash is the
/// cluster's, never a document's).
fn push_names() -> Vec<&'static str> {
    (field_names::<PushProbe>().iter())
        .copied()
        .filter(|n| *n != "token_hash")
        .collect()
}

/// Read `key`'s value into `probe`: the probe type reads a one-entry map
/// whose value is the document's, then the field joins the others.
fn read_into<'de, T, A>(probe: &mut T, key: &str, map: &mut A) -> Result<(), A::Error>
where
    T: Serialize + for<'x> Deserialize<'x>,
    A: MapAccess<'de>,
{
    let part: T = map.next_value_seed(Part::<T>(key, PhantomData))?;
    let mut fields = to_map(probe);
    fields.extend(to_map(&part));
    *probe = serde_json::from_value(Value::Object(fields)).map_err(de::Error::custom)?;
    Ok(())
}

fn to_map<T: Serialize>(v: &T) -> Map<String, Value> {
    match serde_json::to_value(v) {
        Ok(Value::Object(m)) => m,
        _ => Map::new(),
    }
}

/// Reads a `T` holding only the field `.0`, its value from the document.
struct Part<'k, T>(&'k str, PhantomData<T>);

impl<'de, T: for<'x> Deserialize<'x>> DeserializeSeed<'de> for Part<'_, T> {
    type Value = T;
    fn deserialize<D: Deserializer<'de>>(self, value: D) -> Result<T, D::Error> {
        T::deserialize(OneEntry {
            key: Some(self.0),
            value: Some(value),
        })
    }
}

/// A map of one entry: `key`, and the value as the document's
/// deserializer `D` has it.
struct OneEntry<'k, D> {
    key: Option<&'k str>,
    value: Option<D>,
}

impl<'de, D: Deserializer<'de>> Deserializer<'de> for OneEntry<'_, D> {
    type Error = D::Error;
    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
        visitor.visit_map(self)
    }
    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf option unit unit_struct newtype_struct seq tuple
        tuple_struct map struct enum identifier ignored_any
    }
}

impl<'de, D: Deserializer<'de>> MapAccess<'de> for OneEntry<'_, D> {
    type Error = D::Error;
    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, D::Error> {
        match self.key.take() {
            Some(k) => {
                let k: StrDeserializer<'_, D::Error> = k.into_deserializer();
                seed.deserialize(k).map(Some)
            }
            None => Ok(None),
        }
    }
    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, D::Error> {
        match self.value.take() {
            Some(d) => seed.deserialize(d),
            None => Err(de::Error::custom("a setting's value was read twice")),
        }
    }
}

/// The field names serde gives a derived struct `T` (its
/// `deserialize_struct` call names them), so no list repeats them.
fn field_names<T: for<'x> Deserialize<'x>>() -> &'static [&'static str] {
    struct Names<'a>(&'a mut &'static [&'static str]);
    impl<'de> Deserializer<'de> for Names<'_> {
        type Error = de::value::Error;
        fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
            Err(de::Error::custom("not a struct"))
        }
        fn deserialize_struct<V: Visitor<'de>>(
            self,
            _: &'static str,
            fields: &'static [&'static str],
            _: V,
        ) -> Result<V::Value, Self::Error> {
            *self.0 = fields;
            Err(de::Error::custom("names taken"))
        }
        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
            bytes byte_buf option unit unit_struct newtype_struct seq tuple
            tuple_struct map enum identifier ignored_any
        }
    }
    let mut names: &'static [&'static str] = &[];
    let _ = T::deserialize(Names(&mut names));
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_names_are_the_probe_types_own() {
        assert_eq!(
            field_names::<HttpProbe>(),
            [
                "expect_status",
                "body_match",
                "insecure",
                "max_redirects",
                "keep_alive",
                "method",
                "headers",
                "body",
                "basic_auth",
                "bearer",
                "ip_version",
                "ca",
                "conditions"
            ]
        );
        assert_eq!(field_names::<TlsProbe>(), ["warn_days", "sni"]);
        assert_eq!(field_names::<TcpProbe>(), ["send", "expect_reply", "tls"]);
        assert_eq!(field_names::<IcmpProbe>(), ["count", "max_loss", "max_rtt"]);
        assert_eq!(
            field_names::<DnsProbe>(),
            [
                "record",
                "resolver",
                "expect_answer",
                "expect_values",
                "expect_count",
                "expect_nxdomain"
            ]
        );
        assert_eq!(push_names(), ["period", "grace"]);
        assert_eq!(ProbeFields::names().len(), 29);
    }
}
