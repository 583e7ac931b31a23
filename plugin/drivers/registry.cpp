// The built-in drivers by name. A new runtime (e.g. "oci") adds its factory here.
#include "../common/errors.hpp"
#include "../pod/driver.hpp"

namespace lifehook::drivers {

std::unique_ptr<Driver> make_process_driver(DriverEnv env);
std::unique_ptr<Driver> make_oci_driver(DriverEnv env, const json& options);

std::unique_ptr<Driver> make_builtin_driver(const std::string& name, DriverEnv env, const json& options) {
  if (name.empty() || name == "process") return make_process_driver(std::move(env));
  if (name == "oci") return make_oci_driver(std::move(env), options);
  throw_invalid("options.driver", "unknown driver; built-in drivers: process, oci", json_value_text(json(name)));
}

}  // namespace lifehook::drivers
