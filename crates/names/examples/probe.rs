//! Prints the units, codes and similarity of name pairs given on the command line: a quick way
//! to see why two names score as they do.
fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    for pair in args.chunks(2) {
        let a = peywand_names::normalize(&pair[0]);
        let show = |n: &peywand_names::Name| {
            n.units
                .iter()
                .map(|u| format!("{}[{}:{:?}]", u.text, u.code, u.role))
                .collect::<Vec<_>>()
                .join(" ")
        };
        if pair.len() == 2 {
            let b = peywand_names::normalize(&pair[1]);
            println!(
                "{} | {}  => {:.3}",
                show(&a),
                show(&b),
                peywand_names::similarity(&a, &b)
            );
        } else {
            println!("{}", show(&a));
        }
    }
}
