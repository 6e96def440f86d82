//! The deterministic data set: fixtures with well-known ids, then thousands of
//! generated natural and legal persons with their records.
//!
//! Everything is drawn from one seeded RNG, so the same `subjects` count gives
//! the same ids, names and records on every machine. Dates are offsets from
//! the seeding day (`anchor`), so a freshly seeded database always shows live,
//! expired, extended, restored and withheld records whatever the calendar says.

use std::collections::HashSet;

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use serde_json::{json, Map, Value};
use time::{Date, Duration};

use super::ids::{gb11643_check_char, gb11714_check_char, gb32100_check_char, GB32100_CHARSET};
use super::names::{self, Area, AREAS};

/// Seed of the data set's RNG: changing it changes every generated subject.
const SEED: u64 = 0x00C3_ED6A_7E5A_3D1B;

/// Record ids below this are reserved for the fixtures.
const FIRST_GENERATED_RECORD: u32 = 1000;

/// One row of the `subjects` table.
#[derive(Debug, Clone)]
pub(super) struct SubjectRow {
    /// GB 11643 or GB 32100 identifier.
    pub id: String,
    /// `natural_person` or `legal_person`.
    pub kind: &'static str,
    /// The `subject` object of every response about this subject.
    pub json: String,
}

/// One row of the `records` table.
#[derive(Debug, Clone)]
pub(super) struct RecordRow {
    /// Opaque record id, `r-NNNNNNN`.
    pub id: String,
    /// The subject the record is about.
    pub subject_id: String,
    /// Information item code.
    pub item: &'static str,
    /// Decision date, `YYYY-MM-DD`.
    pub decided_on: String,
    /// The record object as served.
    pub json: String,
}

/// A subject with its records, as generated.
#[derive(Debug, Clone)]
pub(super) struct Generated {
    /// The subject row.
    pub subject: SubjectRow,
    /// Its records, oldest first.
    pub records: Vec<RecordRow>,
}

/// Fixture ids promised by [`super::well_known`].
pub(super) mod fixture {
    /// Legal person with records of every kind.
    pub(crate) const LEGAL_PERSON: &str = "91430104MA4PQ7RK38";
    /// Its legal representative, also a natural person in the data set.
    pub(crate) const LEGAL_REPRESENTATIVE: &str = "430102197909213711";
    /// Natural person with consent-required fields (id ends in `X`).
    pub(crate) const NATURAL_PERSON: &str = "43010419880315452X";
    /// Administrative penalty under objection, inside its inquiry period.
    pub(crate) const OBJECTION_PENDING: &str = "r-0000001";
    /// Administrative penalty whose inquiry period has ended.
    pub(crate) const EXPIRED: &str = "r-0000002";
    /// Administrative penalty kept servable by a later `punishment_ends`.
    pub(crate) const EXTENDED: &str = "r-0000003";
    /// Court enforcement whose credit was restored.
    pub(crate) const RESTORED: &str = "r-0000004";
    /// Court enforcement, live.
    pub(crate) const ENFORCEMENT: &str = "r-0000005";
    /// Commendation, shown.
    pub(crate) const COMMENDATION: &str = "r-0000006";
    /// Commendation withheld by the subject.
    pub(crate) const WITHHELD: &str = "r-0000007";
    /// Basic registration record.
    pub(crate) const BASIC: &str = "r-0000008";
}

/// Fallback for empty-list picks (the lists are constants and never empty).
/// 岳麓区, 430104: the third entry of [`AREAS`].
const FALLBACK_AREA: &Area = &AREAS[2];

/// The generator: one RNG, the seeding day, and the ids handed out so far.
pub(super) struct Generator {
    rng: StdRng,
    anchor: Date,
    used_ids: HashSet<String>,
    next_record: u32,
    /// Natural persons generated so far (name, id, phone): legal persons'
    /// representatives are drawn from them.
    people: Vec<(String, String, String)>,
}

impl Generator {
    /// A generator for a data set seeded on `anchor`.
    pub(super) fn new(anchor: Date) -> Self {
        Generator {
            rng: StdRng::seed_from_u64(SEED),
            anchor,
            used_ids: HashSet::new(),
            next_record: FIRST_GENERATED_RECORD,
            people: Vec::new(),
        }
    }

    /// The whole data set: `subjects` natural and `subjects` legal persons,
    /// the fixtures (two natural, one legal) first and counted toward them;
    /// the fixtures are always made, however small `subjects` is.
    pub(super) fn generate(&mut self, subjects: u32) -> Vec<Generated> {
        let mut out = self.fixtures();
        out.reserve(2 * subjects as usize);
        for _ in 0..subjects.saturating_sub(2) {
            let g = self.natural_person();
            out.push(g);
        }
        for _ in 0..subjects.saturating_sub(1) {
            let g = self.legal_person();
            out.push(g);
        }
        out
    }

    fn day(&self, days_ago: i64) -> Date {
        self.anchor
            .checked_sub(Duration::days(days_ago))
            .unwrap_or(self.anchor)
    }

    fn days_ago(&mut self, range: std::ops::Range<i64>) -> Date {
        let days = self.rng.gen_range(range);
        self.day(days)
    }

    fn pick<T: Copy + Default>(&mut self, xs: &[T]) -> T {
        xs.choose(&mut self.rng).copied().unwrap_or_default()
    }

    fn area(&mut self) -> &'static Area {
        // Two thirds of subjects live in Changsha's districts.
        let i = if self.rng.gen_bool(0.66) {
            self.rng.gen_range(0..6)
        } else {
            self.rng.gen_range(0..AREAS.len())
        };
        AREAS.get(i).unwrap_or(FALLBACK_AREA)
    }

    fn chance(&mut self, p: f64) -> bool {
        self.rng.gen_bool(p)
    }

    fn person_name(&mut self) -> String {
        let mut name = String::from(self.pick(names::SURNAMES));
        name.push_str(self.pick(names::GIVEN));
        if self.chance(0.7) {
            name.push_str(self.pick(names::GIVEN));
        }
        name
    }

    fn mobile(&mut self) -> String {
        let prefix = self.pick(&["13", "15", "17", "18", "19"]);
        format!("{prefix}{:09}", self.rng.gen_range(0..1_000_000_000u32))
    }

    fn landline(&mut self, area: &Area) -> String {
        let code = names::phone_area_code(area.city);
        format!("{code}-8{:07}", self.rng.gen_range(0..10_000_000u32))
    }

    fn street_address(&mut self, area: &Area) -> String {
        let road = self.pick(names::ROADS);
        let number = self.rng.gen_range(1..=999);
        format!(
            "{}{}{}{}{}号",
            area.province, area.city, area.district, road, number
        )
    }

    fn resident_id(&mut self, area: &Area) -> (String, Date) {
        loop {
            let year = self.rng.gen_range(1955..=2004);
            let month = self.rng.gen_range(1..=12u8);
            let day = self.rng.gen_range(1..=28u8);
            let seq = self.rng.gen_range(0..1000);
            let first17 = format!("{}{year:04}{month:02}{day:02}{seq:03}", area.code);
            let Some(check) = gb11643_check_char(&first17) else {
                continue;
            };
            let id = format!("{first17}{check}");
            let birth = time::Month::try_from(month)
                .ok()
                .and_then(|m| Date::from_calendar_date(year, m, day).ok());
            if let Some(birth) = birth {
                if self.used_ids.insert(id.clone()) {
                    return (id, birth);
                }
            }
        }
    }

    fn credit_code(&mut self, area: &Area) -> String {
        loop {
            let (authority, kind) = self.pick(&[
                ('9', '1'),
                ('9', '1'),
                ('9', '1'),
                ('9', '2'),
                ('5', '2'),
                ('1', '2'),
            ]);
            let org = if self.chance(0.7) {
                // Codes issued since 2015: `MA` + 7 characters of the alphabet.
                let mut s = String::from("MA");
                for _ in 0..7 {
                    let c = self.pick(&GB32100_CHARSET[..]);
                    s.push(char::from(c));
                }
                s
            } else {
                // Older GB 11714 organisation code with its own check character.
                let mut body = String::new();
                for _ in 0..8 {
                    let c = self.pick(b"0123456789ABCDEFGHJKLMNPQRTUWXY");
                    body.push(char::from(c));
                }
                let Some(check) = gb11714_check_char(&body) else {
                    continue;
                };
                body.push(check);
                body
            };
            let first17 = format!("{authority}{kind}{}{org}", area.code);
            let Some(check) = gb32100_check_char(&first17) else {
                continue;
            };
            let id = format!("{first17}{check}");
            // An all-digit code could read as a resident id; keep a letter in.
            if id.bytes().all(|b| b.is_ascii_digit()) {
                continue;
            }
            if self.used_ids.insert(id.clone()) {
                return id;
            }
        }
    }

    fn record_id(&mut self) -> String {
        let id = format!("r-{:07}", self.next_record);
        self.next_record += 1;
        id
    }

    fn natural_person(&mut self) -> Generated {
        let area = self.area();
        let (id, birth) = self.resident_id(area);
        let name = self.person_name();
        let male = id
            .as_bytes()
            .get(16)
            .is_some_and(|b| (b.wrapping_sub(b'0')) % 2 == 1);
        let phone = self.mobile();
        let address = self.street_address(area);
        let mut subject = Map::new();
        subject.insert("id".into(), json!(id));
        subject.insert("type".into(), json!("natural_person"));
        subject.insert("name".into(), json!(name));
        subject.insert("id_number".into(), json!(id));
        subject.insert("gender".into(), json!(if male { "男" } else { "女" }));
        subject.insert("birth_date".into(), json!(birth.to_string()));
        let ethnicity = self.pick(&[
            "汉族",
            "汉族",
            "汉族",
            "汉族",
            "土家族",
            "苗族",
            "侗族",
            "瑶族",
        ]);
        subject.insert("ethnicity".into(), json!(ethnicity));
        let education = self.pick(names::EDUCATION);
        subject.insert("education".into(), json!(education));
        let occupation = self.pick(names::OCCUPATIONS);
        subject.insert("occupation".into(), json!(occupation));
        subject.insert("address".into(), json!(address));
        let mut contact = Map::new();
        contact.insert("phone".into(), json!(phone));
        contact.insert("address".into(), json!(address));
        if self.chance(0.4) {
            let ec_area = self.area();
            let (ec_id, _) = self.resident_id(ec_area);
            let ec_name = self.person_name();
            let ec_phone = self.mobile();
            let relation = self.pick(&["配偶", "父亲", "母亲", "子女", "兄弟姐妹"]);
            contact.insert(
                "emergency_contact".into(),
                json!({"name": ec_name, "relation": relation,
                       "id_number": ec_id, "phone": ec_phone}),
            );
        }
        subject.insert("contact".into(), Value::Object(contact));
        let income = self.rng.gen_range(24..=600) * 1000;
        subject.insert("income".into(), json!(income));
        subject.insert("tax_paid".into(), json!(income / 20));
        if self.chance(0.55) {
            let homes: Vec<Value> = (0..self.rng.gen_range(1..=2))
                .map(|_| {
                    let a = self.area();
                    let area_m2 = self.rng.gen_range(45..=180);
                    json!({"city": a.city, "district": a.district, "area_m2": area_m2})
                })
                .collect();
            subject.insert("real_estate".into(), Value::Array(homes));
        }
        if self.chance(0.6) {
            let savings = self.rng.gen_range(1..=200) * 5000;
            subject.insert("savings".into(), json!(savings));
        }
        if self.chance(0.2) {
            let securities = self.rng.gen_range(1..=100) * 10000;
            subject.insert("securities".into(), json!(securities));
        }
        if self.chance(0.3) {
            let insurer = self.pick(&["中国人寿", "平安人寿", "太平洋人寿", "泰康人寿"]);
            subject.insert(
                "commercial_insurance".into(),
                json!([{"insurer": insurer, "kind": "重大疾病保险"}]),
            );
        }
        if self.chance(0.3) {
            let religion = self.pick(names::RELIGIONS);
            subject.insert("religion".into(), json!(religion));
        }
        if self.chance(0.3) {
            let blood = self.pick(names::BLOOD_TYPES);
            subject.insert("blood_type".into(), json!(blood));
        }
        if self.chance(0.25) {
            let illness = self.pick(names::ILLNESSES);
            let history = self.pick(names::MEDICAL_HISTORIES);
            let checked = self.days_ago(30..700);
            subject.insert(
                "health".into(),
                json!({"illness": illness, "medical_history": history,
                       "checked_on": checked.to_string()}),
            );
        }
        let count = self.pick(&[0usize, 0, 1, 1, 2, 2, 3, 4]);
        let mut records = Vec::with_capacity(count);
        for _ in 0..count {
            let roll = self.rng.gen_range(0..100);
            let rec = if roll < 30 {
                self.personal_penalty(&id, area)
            } else if roll < 40 {
                self.enforcement(&id, &name, &id, area)
            } else if roll < 75 {
                self.personal_honour(&id, area)
            } else {
                self.qualification(&id)
            };
            records.push(rec);
        }
        records.sort_by(|a, b| a.decided_on.cmp(&b.decided_on));
        self.people.push((name, id.clone(), phone));
        Generated {
            subject: SubjectRow {
                id,
                kind: "natural_person",
                json: Value::Object(subject).to_string(),
            },
            records,
        }
    }

    fn representative(&mut self) -> (String, String, String) {
        if !self.people.is_empty() && self.chance(0.8) {
            let i = self.rng.gen_range(0..self.people.len());
            if let Some(p) = self.people.get(i) {
                return p.clone();
            }
        }
        let area = self.area();
        let (id, _) = self.resident_id(area);
        let name = self.person_name();
        let phone = self.mobile();
        (name, id, phone)
    }

    fn legal_person(&mut self) -> Generated {
        let area = self.area();
        let id = self.credit_code(area);
        let trade = self.pick(names::TRADE_NAMES);
        let (industry, scope) = self.pick(names::INDUSTRIES);
        let form = self.pick(names::COMPANY_FORMS);
        let city = area.city.trim_end_matches('市');
        let name = format!("{city}{trade}{industry}{form}");
        let (rep_name, rep_id, rep_phone) = self.representative();
        let established = self.days_ago(200..9000);
        let capital = self.pick(&[10u64, 50, 100, 200, 300, 500, 1000, 2000, 5000]) * 10_000;
        let address = self.street_address(area);
        let mut rep = Map::new();
        rep.insert("name".into(), json!(rep_name));
        rep.insert("id_number".into(), json!(rep_id));
        rep.insert("contact".into(), json!({"phone": rep_phone}));
        if self.chance(0.1) {
            let religion = self.pick(names::RELIGIONS);
            rep.insert("religion".into(), json!(religion));
        }
        let mut subject = Map::new();
        subject.insert("id".into(), json!(id));
        subject.insert("type".into(), json!("legal_person"));
        subject.insert("name".into(), json!(name));
        subject.insert("legal_form".into(), json!(form));
        subject.insert(
            "status".into(),
            json!(self.pick(&["存续", "存续", "存续", "在业", "吊销"])),
        );
        subject.insert("established_on".into(), json!(established.to_string()));
        subject.insert("registered_capital".into(), json!(capital));
        subject.insert("business_scope".into(), json!(scope));
        subject.insert("address".into(), json!(address));
        subject.insert("legal_representative".into(), Value::Object(rep));
        let landline = self.landline(area);
        subject.insert(
            "contact".into(),
            json!({"phone": landline, "address": address}),
        );
        let revenue = self.rng.gen_range(10..=5000) * 10_000;
        subject.insert("income".into(), json!(revenue));
        subject.insert("tax_paid".into(), json!(revenue / 16));
        if self.chance(0.3) {
            let area_m2 = self.rng.gen_range(200..=20_000);
            subject.insert(
                "real_estate".into(),
                json!([{"city": area.city, "district": area.district,
                        "area_m2": area_m2, "use": "工业用地"}]),
            );
        }
        let count = self.pick(&[0usize, 1, 1, 2, 2, 3, 3, 4, 5]);
        let mut records = Vec::with_capacity(count);
        for _ in 0..count {
            let roll = self.rng.gen_range(0..100);
            let rec = if roll < 35 {
                self.penalty(&id, area, (&rep_name, &rep_id, &rep_phone))
            } else if roll < 50 {
                self.enforcement(&id, &name, &rep_id, area)
            } else if roll < 75 {
                self.company_honour(&id, area)
            } else {
                self.registration_change(&id, area)
            };
            records.push(rec);
        }
        records.sort_by(|a, b| a.decided_on.cmp(&b.decided_on));
        Generated {
            subject: SubjectRow {
                id,
                kind: "legal_person",
                json: Value::Object(subject).to_string(),
            },
            records,
        }
    }

    /// Lifecycle fields of an untrustworthy record, drawn at random.
    fn untrustworthy_lifecycle(&mut self, decided: Date) -> Lifecycle {
        let punishment_ends = self.chance(0.2).then(|| {
            let days = self.rng.gen_range(365..3650);
            decided.checked_add(Duration::days(days)).unwrap_or(decided)
        });
        let roll = self.rng.gen_range(0..100);
        Lifecycle {
            punishment_ends,
            restored: Some(self.chance(0.1)),
            objection: match roll {
                0..=5 => Some("pending"),
                6..=9 => Some("rejected"),
                _ => None,
            },
            withheld: None,
        }
    }

    /// A generated record: the next record id, then [`record`].
    fn numbered_record(
        &mut self,
        subject_id: &str,
        item: &'static str,
        decided: Date,
        life: Lifecycle,
        data: Map<String, Value>,
    ) -> RecordRow {
        let id = self.record_id();
        record(id, subject_id, item, decided, &life, data)
    }

    /// A generated untrustworthy record: its lifecycle drawn at random
    /// (before its id), then [`Self::numbered_record`].
    fn untrustworthy(
        &mut self,
        subject_id: &str,
        item: &'static str,
        decided: Date,
        data: Map<String, Value>,
    ) -> RecordRow {
        let life = self.untrustworthy_lifecycle(decided);
        self.numbered_record(subject_id, item, decided, life, data)
    }

    fn penalty(&mut self, subject_id: &str, area: &Area, rep: (&str, &str, &str)) -> RecordRow {
        let decided = self.days_ago(10..2500);
        let (body, violation, basis) = self.pick(names::VIOLATIONS);
        let fine = self.rng.gen_range(1..=200) * 1000;
        let number = self.rng.gen_range(1..2000);
        let mut data = Map::new();
        data.insert("authority".into(), json!(format!("{}{body}", area.city)));
        data.insert(
            "document_no".into(),
            json!(format!(
                "{}罚决字〔{}〕{number}号",
                area.abbr,
                decided.year()
            )),
        );
        data.insert("violation".into(), json!(violation));
        data.insert("legal_basis".into(), json!(basis));
        data.insert("penalty".into(), json!({"kind": "罚款", "fine": fine}));
        let mut notes = Map::new();
        notes.insert(
            "summary".into(),
            json!(format!("经查，当事人{violation}，责令改正并处罚款。")),
        );
        if self.chance(0.1) {
            let history = self.pick(names::MEDICAL_HISTORIES);
            notes.insert("medical_history".into(), json!(history));
        }
        data.insert("inspector_notes".into(), Value::Object(notes));
        if self.chance(0.5) {
            data.insert(
                "parties".into(),
                json!([{"role": "法定代表人", "name": rep.0, "id_number": rep.1,
                        "contact": {"phone": rep.2}}]),
            );
        }
        self.untrustworthy(subject_id, "administrative_penalty", decided, data)
    }

    fn personal_penalty(&mut self, subject_id: &str, area: &Area) -> RecordRow {
        let decided = self.days_ago(10..2500);
        let (body, violation) = self.pick(names::PERSONAL_VIOLATIONS);
        let fine = self.rng.gen_range(2..=50) * 100;
        let mut data = Map::new();
        data.insert("authority".into(), json!(format!("{}{body}", area.city)));
        data.insert("violation".into(), json!(violation));
        data.insert("penalty".into(), json!({"kind": "罚款", "fine": fine}));
        if self.chance(0.15) {
            let illness = self.pick(names::ILLNESSES);
            data.insert(
                "hearing".into(),
                json!({"statement": {"illness": illness, "summary": "当事人陈述申辩"}}),
            );
        }
        self.untrustworthy(subject_id, "administrative_penalty", decided, data)
    }

    fn enforcement(
        &mut self,
        subject_id: &str,
        debtor: &str,
        debtor_id: &str,
        area: &Area,
    ) -> RecordRow {
        let decided = self.days_ago(10..3000);
        let number = self.rng.gen_range(1..9000);
        let amount = self.rng.gen_range(1..=500) * 2000;
        let status = self.pick(names::ENFORCEMENT_STATUS);
        let phone = self.mobile();
        let mut debtor_obj = Map::new();
        debtor_obj.insert("name".into(), json!(debtor));
        debtor_obj.insert("id_number".into(), json!(debtor_id));
        debtor_obj.insert("contact".into(), json!({"phone": phone}));
        if self.chance(0.2) {
            let area_m2 = self.rng.gen_range(50..=300);
            debtor_obj.insert(
                "real_estate".into(),
                json!([{"city": area.city, "area_m2": area_m2, "status": "已查封"}]),
            );
        }
        let mut data = Map::new();
        data.insert(
            "court".into(),
            json!(format!("{}{}人民法院", area.city, area.district)),
        );
        data.insert(
            "case_no".into(),
            json!(format!(
                "({}){}{}执{number}号",
                decided.year(),
                names::province_abbr(area.province),
                area.court_code
            )),
        );
        data.insert("amount".into(), json!(amount));
        data.insert("status".into(), json!(status));
        data.insert("debtor".into(), Value::Object(debtor_obj));
        self.untrustworthy(subject_id, "court_enforcement", decided, data)
    }

    fn company_honour(&mut self, subject_id: &str, area: &Area) -> RecordRow {
        let decided = self.days_ago(10..2000);
        let (title, body) = self.pick(names::COMPANY_HONOURS);
        let data = json_map(json!({
            "title": title,
            "awarded_by": format!("{}{body}", area.city),
            "year": decided.year(),
        }));
        let life = Lifecycle::positive(self.chance(0.15));
        self.numbered_record(subject_id, "commendation", decided, life, data)
    }

    fn personal_honour(&mut self, subject_id: &str, area: &Area) -> RecordRow {
        let decided = self.days_ago(10..2000);
        let (title, body, kind) = self.pick(names::PERSONAL_HONOURS);
        let mut data = Map::new();
        data.insert("title".into(), json!(title));
        data.insert("kind".into(), json!(kind));
        data.insert("awarded_by".into(), json!(format!("{}{body}", area.city)));
        if kind == "donation" && self.chance(0.5) {
            let blood = self.pick(names::BLOOD_TYPES);
            let times = self.rng.gen_range(3..30);
            data.insert(
                "details".into(),
                json!({"donations": times, "donor": {"blood_type": blood}}),
            );
        }
        let life = Lifecycle::positive(self.chance(0.2));
        self.numbered_record(subject_id, "commendation", decided, life, data)
    }

    fn qualification(&mut self, subject_id: &str) -> RecordRow {
        let decided = self.days_ago(100..6000);
        let (certificate, issuer) = self.pick(names::QUALIFICATIONS);
        let number = self.rng.gen_range(0..100_000_000u32);
        let data = json_map(json!({
            "certificate": certificate,
            "issued_by": issuer,
            "certificate_no": format!("{:08}", number),
        }));
        self.numbered_record(subject_id, "basic", decided, Lifecycle::default(), data)
    }

    fn registration_change(&mut self, subject_id: &str, area: &Area) -> RecordRow {
        let decided = self.days_ago(10..4000);
        let change = self.pick(names::REGISTRATION_CHANGES);
        let data = json_map(json!({
            "change": change,
            "registered_by": format!("{}市场监督管理局", area.city),
        }));
        self.numbered_record(subject_id, "basic", decided, Lifecycle::default(), data)
    }

    /// The hand-written subjects behind [`super::well_known`]: a legal
    /// person with a record of every kind, its legal representative, and a
    /// natural person with every consent-required and prohibited field.
    fn fixtures(&mut self) -> Vec<Generated> {
        for id in [
            fixture::LEGAL_PERSON,
            fixture::LEGAL_REPRESENTATIVE,
            fixture::NATURAL_PERSON,
        ] {
            self.used_ids.insert(id.to_string());
        }
        let d = |days: i64| self.day(days);
        let lp = fixture::LEGAL_PERSON;
        let legal = json!({
            "id": lp,
            "type": "legal_person",
            "name": "长沙星辰建材有限公司",
            "legal_form": "有限责任公司",
            "status": "存续",
            "established_on": d(4000).to_string(),
            "registered_capital": 5_000_000,
            "business_scope": "建筑材料、装饰材料的销售",
            "address": "湖南省长沙市岳麓区麓山南路88号",
            "legal_representative": {
                "name": "王强",
                "id_number": fixture::LEGAL_REPRESENTATIVE,
                "Religion": "none declared",
                "宗教信仰": "无",
                "contact": {"phone": "13812345678", "email": "wangqiang@example.cn"}
            },
            "contact": {"phone": "0731-88886666", "address": "湖南省长沙市岳麓区麓山南路88号"},
            "income": 38_000_000,
            "tax_paid": 340_000,
            "real_estate": [{"city": "长沙市", "district": "岳麓区", "area_m2": 3200, "use": "仓储用地"}],
            "纳税": {"年度": 2025, "纳税额": 340_000}
        });
        let untrust =
            |p: Option<Date>, restored: bool, objection: Option<&'static str>| Lifecycle {
                punishment_ends: p,
                restored: Some(restored),
                objection,
                withheld: None,
            };
        #[rustfmt::skip]
        let legal_records = fixture_records(lp, d, [
            (fixture::OBJECTION_PENDING, "administrative_penalty", 400, untrust(None, false, Some("pending")),
             json!({
                 "authority": "长沙市市场监督管理局",
                 "document_no": "长罚决字〔2025〕318号",
                 "violation": "销售不合格产品",
                 "penalty": {"kind": "罚款", "fine": 50_000},
                 "inspector_notes": {
                     "summary": "抽检不合格，当事人提出异议",
                     "medical_history": "检查员既往病史（不应出现在任何回复中）",
                     "病史": "检查员病史（不应出现在任何回复中）",
                     "witnesses": [{"name": "赵磊", "contact": {"phone": "13907310001", "id_number": "430103199001011234"}}]
                 }
             })),
            (fixture::EXPIRED, "administrative_penalty", 1500, untrust(None, false, None),
             json!({
                 "authority": "长沙市市场监督管理局",
                 "violation": "未按规定报送企业年度报告",
                 "penalty": {"kind": "罚款", "fine": 20_000}
             })),
            (fixture::EXTENDED, "administrative_penalty", 2000, untrust(Some(d(-600)), false, None),
             json!({
                 "authority": "湖南省生态环境厅",
                 "violation": "超标排放大气污染物",
                 "penalty": {"kind": "责令停产整治", "months": 60}
             })),
            (fixture::RESTORED, "court_enforcement", 300, untrust(None, true, None),
             json!({
                 "court": "长沙市中级人民法院",
                 "case_no": "(2025)湘01执1024号",
                 "amount": 120_000,
                 "status": "已履行"
             })),
            (fixture::ENFORCEMENT, "court_enforcement", 700, untrust(None, false, None),
             json!({
                 "court": "长沙市岳麓区人民法院",
                 "case_no": "(2024)湘0104执2231号",
                 "amount": 800_000,
                 "status": "执行中",
                 "debtor": {
                     "name": "长沙星辰建材有限公司",
                     "representative": {
                         "name": "王强",
                         "id_number": fixture::LEGAL_REPRESENTATIVE,
                         "contact": {"phone": "13812345678"},
                         "health": {"illness": "高血压"}
                     },
                     "real_estate": [{"city": "长沙市", "area_m2": 3200, "status": "已查封"}]
                 }
             })),
            (fixture::COMMENDATION, "commendation", 500, Lifecycle::positive(false),
             json!({"title": "守合同重信用企业", "awarded_by": "长沙市市场监督管理局"})),
            (fixture::WITHHELD, "commendation", 200, Lifecycle::positive(true),
             json!({"title": "慈善捐赠表彰", "awarded_by": "长沙市民政局", "kind": "donation"})),
            (fixture::BASIC, "basic", 900, Lifecycle::default(),
             json!({"change": "注册资本变更", "before": 1_000_000, "after": 5_000_000,
                    "registered_by": "长沙市岳麓区市场监督管理局"})),
        ]);

        let rep = json!({
            "id": fixture::LEGAL_REPRESENTATIVE,
            "type": "natural_person",
            "name": "王强",
            "id_number": fixture::LEGAL_REPRESENTATIVE,
            "gender": "男",
            "birth_date": "1979-09-21",
            "address": "湖南省长沙市芙蓉区五一大道168号",
            "contact": {"phone": "13812345678"},
            "income": 480_000,
            "tax_paid": 52_000
        });

        let np = fixture::NATURAL_PERSON;
        let natural = json!({
            "id": np,
            "type": "natural_person",
            "name": "刘婷",
            "id_number": np,
            "gender": "女",
            "birth_date": "1988-03-15",
            "ethnicity": "汉族",
            "education": "本科",
            "occupation": "会计",
            "address": "湖南省长沙市岳麓区桐梓坡路56号",
            "contact": {
                "phone": "13974125896",
                "address": "湖南省长沙市岳麓区桐梓坡路56号",
                "emergency_contact": {"name": "刘建国", "relation": "父亲",
                                      "id_number": "430104196002113411", "phone": "13807310099"}
            },
            "income": 240_000,
            "tax_paid": 12_000,
            "savings": 150_000,
            "securities": 80_000,
            "commercial_insurance": [{"insurer": "平安人寿", "kind": "重大疾病保险"}],
            "real_estate": [{"city": "长沙市", "district": "岳麓区", "area_m2": 98}],
            "religion": "佛教",
            "blood_type": "A",
            "health": {"illness": "哮喘", "medical_history": "2019年阑尾切除术", "checked_on": d(120).to_string()},
            "家庭情况": {
                "宗教信仰": "佛教",
                "血型": "A型",
                "指纹": "指纹特征编码（不应出现在任何回复中）",
                "基因": "基因检测报告（不应出现在任何回复中）",
                "收入": 240_000,
                "存款": 150_000,
                "房产": [{"城市": "长沙市", "面积": 98}],
                "身份证号": np,
                "手机号码": "13974125896"
            }
        });
        #[rustfmt::skip]
        let natural_records = fixture_records(np, d, [
            ("r-0000009", "administrative_penalty", 250, untrust(None, false, None),
             json!({
                 "authority": "长沙市公安局交通警察支队",
                 "violation": "驾驶机动车超速50%以上",
                 "penalty": {"kind": "罚款", "fine": 2000}
             })),
            ("r-0000010", "commendation", 450, Lifecycle::positive(true),
             json!({"title": "优秀志愿者", "kind": "volunteer_service",
                    "awarded_by": "长沙市精神文明建设委员会"})),
            ("r-0000011", "commendation", 800, Lifecycle::positive(false),
             json!({"title": "无偿献血奉献奖", "kind": "donation",
                    "awarded_by": "湖南省卫生健康委员会",
                    "details": {"donations": 12, "donor": {"blood_type": "A", "genetic_data": "HLA-A*02"}}})),
            ("r-0000012", "basic", 2400, Lifecycle::default(),
             json!({"certificate": "注册会计师", "issued_by": "中国注册会计师协会",
                    "certificate_no": "43010088"})),
        ]);
        self.people.push((
            "王强".into(),
            fixture::LEGAL_REPRESENTATIVE.into(),
            "13812345678".into(),
        ));
        self.people
            .push(("刘婷".into(), np.into(), "13974125896".into()));
        vec![
            Generated {
                subject: subject_row(np, "natural_person", &natural),
                records: natural_records,
            },
            Generated {
                subject: subject_row(fixture::LEGAL_REPRESENTATIVE, "natural_person", &rep),
                records: Vec::new(),
            },
            Generated {
                subject: subject_row(lp, "legal_person", &legal),
                records: legal_records,
            },
        ]
    }
}

/// Lifecycle fields of one record.
#[derive(Debug, Default)]
struct Lifecycle {
    punishment_ends: Option<Date>,
    restored: Option<bool>,
    objection: Option<&'static str>,
    withheld: Option<bool>,
}

impl Lifecycle {
    fn positive(withheld: bool) -> Self {
        Lifecycle {
            withheld: Some(withheld),
            ..Lifecycle::default()
        }
    }
}

fn json_map(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

fn subject_row(id: &str, kind: &'static str, json: &Value) -> SubjectRow {
    SubjectRow {
        id: id.to_string(),
        kind,
        json: json.to_string(),
    }
}

/// The records of a fixture subject, a row each: id, item, decided (days
/// before the anchor, through `day`), lifecycle, data.
fn fixture_records<const N: usize>(
    subject_id: &str,
    day: impl Fn(i64) -> Date,
    rows: [(&str, &'static str, i64, Lifecycle, Value); N],
) -> Vec<RecordRow> {
    rows.into_iter()
        .map(|(id, item, days, life, data)| {
            record(
                id.into(),
                subject_id,
                item,
                day(days),
                &life,
                json_map(data),
            )
        })
        .collect()
}

/// Assemble one record in the spec's upstream format.
fn record(
    id: String,
    subject_id: &str,
    item: &'static str,
    decided: Date,
    life: &Lifecycle,
    data: Map<String, Value>,
) -> RecordRow {
    let decided_on = decided.to_string();
    let mut m = Map::new();
    m.insert("id".into(), json!(id));
    m.insert("item".into(), json!(item));
    m.insert("decided_on".into(), json!(decided_on));
    if let Some(p) = life.punishment_ends {
        m.insert("punishment_ends".into(), json!(p.to_string()));
    }
    if let Some(r) = life.restored {
        m.insert("restored".into(), json!(r));
    }
    if let Some(o) = life.objection {
        m.insert("objection".into(), json!(o));
    }
    if let Some(w) = life.withheld {
        m.insert("withheld_by_subject".into(), json!(w));
    }
    m.insert("data".into(), Value::Object(data));
    RecordRow {
        id,
        subject_id: subject_id.to_string(),
        item,
        decided_on,
        json: Value::Object(m).to_string(),
    }
}
