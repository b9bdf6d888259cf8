//! Deploys a `calc` program and calls it a few times on a chain in a temporary directory.
//!
//! `cargo run -p wes-custom-executor -- "s + x * 2"`

fn main() -> anyhow::Result<()> {
    let program = std::env::args().nth(1).unwrap_or("s + x * 2".into());
    let dir = tempfile::tempdir()?;
    let node = wes_custom_executor::open(dir.path())?;
    let id = wes_custom_executor::deploy(&node, &program)?;
    println!("deployed `{program}` as {id}");
    for x in [1, 2, 3] {
        let result = wes_custom_executor::call(&node, id, x)?;
        println!("apply({x}) = {result}   (height {})", node.status().height);
    }
    Ok(())
}
