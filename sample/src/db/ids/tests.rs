use super::*;

#[test]
fn known_vectors() {
    assert_eq!(gb11643_check_char("11010519491231002"), Some('X'));
    assert_eq!(gb11643_check_char("43010219850612301"), Some('1'));
    assert_eq!(gb32100_check_char("91430100MA4L0XXX1"), Some('N'));
    // Organisation code 18741201-X style: 8 digits then the check.
    assert_eq!(gb11714_check_char("D2143569"), Some('X'));
    assert_eq!(gb11643_check_char("1234"), None);
    assert_eq!(gb32100_check_char("91430100MA4L0XXXI"), None);
    assert_eq!(gb11714_check_char("d2143569"), None);
}
