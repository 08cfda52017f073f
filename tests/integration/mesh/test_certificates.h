// Test certificates made at test time by the openssl CLI, in a temporary directory removed with
// the object: a CA, a relay certificate for 127.0.0.1/localhost, a client certificate from that
// CA, and a client certificate from another ("rogue") CA.
#ifndef KARS_TESTS_INTEGRATION_MESH_TEST_CERTIFICATES_H_
#define KARS_TESTS_INTEGRATION_MESH_TEST_CERTIFICATES_H_

#include <stdlib.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace kars::mesh::testing {

inline std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// A directory of PEM files: ca, server, client (from ca) and rogue (from another CA).
class Certificates {
 public:
  Certificates() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "kars-tls-XXXXXX").string();
    dir_ = mkdtemp(tmpl.data());
    ok_ = Ca("ca") && Ca("rogue-ca") &&
          Leaf("server", "ca", "subjectAltName=IP:127.0.0.1,DNS:localhost\n"
                               "extendedKeyUsage=serverAuth\n") &&
          Leaf("client", "ca", "extendedKeyUsage=clientAuth\n") &&
          Leaf("rogue", "rogue-ca", "extendedKeyUsage=clientAuth\n");
  }
  ~Certificates() { std::filesystem::remove_all(dir_); }
  bool ok() const { return ok_; }
  std::string Path(const std::string& name) const { return dir_ + "/" + name; }
  std::string Pem(const std::string& name) const { return Slurp(Path(name)); }

 private:
  bool Run(const std::string& cmd) { return std::system((cmd + " 2>/dev/null").c_str()) == 0; }
  bool Ca(const std::string& name) {
    return Run("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1"
               " -subj /CN=kars-test-" + name + " -keyout " + Path(name + ".key") + " -out " +
               Path(name + ".pem"));
  }
  bool Leaf(const std::string& name, const std::string& ca, const std::string& ext) {
    std::ofstream(Path(name + ".ext")) << ext;
    return Run("openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj /CN=" +
               name + " -keyout " + Path(name + ".key") + " -out " + Path(name + ".csr")) &&
           Run("openssl x509 -req -days 1 -in " + Path(name + ".csr") + " -CA " +
               Path(ca + ".pem") + " -CAkey " + Path(ca + ".key") + " -CAcreateserial -extfile " +
               Path(name + ".ext") + " -out " + Path(name + ".pem"));
  }
  std::string dir_;
  bool ok_ = false;
};

}  // namespace kars::mesh::testing

#endif  // KARS_TESTS_INTEGRATION_MESH_TEST_CERTIFICATES_H_
