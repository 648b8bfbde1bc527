// CAF is wired into the build: an event-based actor answers a request from a scoped actor.
#include <catch2/catch.hpp>

#include <string>

#include <caf/all.hpp>

namespace {

caf::behavior adder(caf::event_based_actor* self, int offset) {
  return {
      [offset](int x) { return x + offset; },
      [self](const std::string& name) { return name + " from actor " + std::to_string(self->id()); },
  };
}

}  // namespace

TEST_CASE("caf: an event-based actor replies to a scoped actor's requests", "[caf]") {
  caf::actor_system_config config;
  caf::actor_system system{config};
  auto actor = system.spawn(adder, 40);
  caf::scoped_actor self{system};

  int sum = 0;
  self->request(actor, caf::infinite, 2).receive([&](int r) { sum = r; },
                                                 [&](const caf::error& e) { FAIL(system.render(e)); });
  CHECK(sum == 42);

  std::string greeting;
  self->request(actor, caf::infinite, std::string("hello"))
      .receive([&](const std::string& r) { greeting = r; },
               [&](const caf::error& e) { FAIL(system.render(e)); });
  CHECK(greeting == "hello from actor " + std::to_string(actor.id()));

  // A message of a type the behavior does not handle comes back as an error, not a hang.
  bool refused = false;
  self->request(actor, caf::infinite, 1.5).receive([&](double) {}, [&](const caf::error&) { refused = true; });
  CHECK(refused);
  self->send_exit(actor, caf::exit_reason::user_shutdown);
}
