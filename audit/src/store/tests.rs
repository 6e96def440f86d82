use super::*;

#[test]
fn insert_chunks_cover_every_row_in_few_shapes() {
    for n in [0usize, 1, 2, 3, 255, 256, 257, 700, 1024, 1023] {
        let rows: Vec<usize> = (0..n).collect();
        let chunks: Vec<&[usize]> = insert_chunks(&rows).collect();
        let joined: Vec<usize> = chunks.iter().flat_map(|c| c.iter().copied()).collect();
        assert_eq!(joined, rows, "every row once, in order");
        for c in &chunks {
            assert!(
                c.len() == INSERT_CHUNK || c.len().is_power_of_two(),
                "{}",
                c.len()
            );
        }
    }
    let rows = vec![0u8; 700];
    let sizes: Vec<usize> = insert_chunks(&rows).map(<[u8]>::len).collect();
    assert_eq!(sizes, vec![256, 256, 128, 32, 16, 8, 4]);
}
