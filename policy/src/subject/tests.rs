use super::*;

#[test]
fn legal_person_vectors() {
    assert_eq!(classify("91430100MA4L0XXX1N"), Ok(SubjectType::LegalPerson));
    assert_eq!(gb32100_check_char("91430100MA4L0XXX1"), Some('N'));
    assert_eq!(
        classify("91430100MA4L0XXX1A"),
        Err(SubjectIdError::CheckChar)
    );
}

#[test]
fn natural_person_vectors() {
    assert_eq!(
        classify("430102198506123011"),
        Ok(SubjectType::NaturalPerson)
    );
    assert_eq!(
        classify("11010519491231002X"),
        Ok(SubjectType::NaturalPerson)
    );
    assert_eq!(gb11643_check_char("11010519491231002"), Some('X'));
    assert_eq!(gb11643_check_char("43010219850612301"), Some('1'));
}

#[test]
fn lowercase_x_is_rejected_as_written_and_canonical_in_capitals() {
    assert!(classify("11010519491231002x").is_err());
    assert_eq!(
        canonical("11010519491231002x"),
        Ok(("11010519491231002X".to_owned(), SubjectType::NaturalPerson))
    );
    assert_eq!(
        canonical("91430100ma4l0xxx1n"),
        Ok(("91430100MA4L0XXX1N".to_owned(), SubjectType::LegalPerson))
    );
    // Capitals do not mend a wrong check character.
    assert_eq!(
        canonical("430102198506123012"),
        Err(SubjectIdError::CheckChar)
    );
}

#[test]
fn wrong_natural_check_digit_is_rejected() {
    assert_eq!(
        classify("430102198506123012"),
        Err(SubjectIdError::CheckChar)
    );
}

#[test]
fn implausible_birth_date_is_rejected() {
    // 1985-02-30 does not exist; fix the check digit so only the date is wrong.
    let first17 = "43010219850230301";
    let check = gb11643_check_char(first17).unwrap();
    let id = format!("{first17}{check}");
    // It might still pass as a GB 32100 code by coincidence; it must not be a natural person.
    assert_ne!(classify(&id), Ok(SubjectType::NaturalPerson));
}

#[test]
fn length_and_charset() {
    assert_eq!(classify(""), Err(SubjectIdError::Length(0)));
    assert_eq!(
        classify("91430100MA4L0XXX1"),
        Err(SubjectIdError::Length(17))
    );
    assert_eq!(classify("91430100MA4L0XXXIN"), Err(SubjectIdError::Charset));
    assert!(classify("91430100ma4l0xxx1n").is_err());
    // multibyte input never panics
    assert!(classify("王王王王王王").is_err());
    assert!(classify("ééééééééé").is_err());
}

#[test]
fn check_char_helpers_reject_bad_input() {
    assert_eq!(gb11643_check_char("1234"), None);
    assert_eq!(gb11643_check_char("1101051949123100A"), None);
    assert_eq!(gb32100_check_char("91430100MA4L0XXXI"), None);
    assert_eq!(gb32100_check_char("short"), None);
}

#[test]
fn generated_ids_round_trip() {
    for n in 0..200u32 {
        let first17 = format!("4301021985061{:04}", n);
        let c = gb11643_check_char(&first17).unwrap();
        assert_eq!(
            classify(&format!("{first17}{c}")),
            Ok(SubjectType::NaturalPerson)
        );
        let code17 = format!("91430100MA4L{:05}", n);
        let c = gb32100_check_char(&code17).unwrap();
        assert_eq!(
            classify(&format!("{code17}{c}")),
            Ok(SubjectType::LegalPerson)
        );
    }
}
