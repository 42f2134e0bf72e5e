//! Announces itself and then never ends (until killed).

fn main() {
    println!("spin_forever: started");
    docker_fixtures::sleep_forever();
}
