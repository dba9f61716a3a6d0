#!/usr/bin/env python3
"""The layer check (tools/check_layers.py) on small trees: it passes a pure domain and names each
kind of breach."""
import pathlib
import sys
import tempfile
import unittest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[3] / "tools"))
import check_layers  # noqa: E402


class LayerCheck(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.root = pathlib.Path(self.dir.name) / "src"
        self.build = pathlib.Path(self.dir.name) / "build"
        self.write("common/status.h", '#include "absl/status/status.h"\n')
        self.write("services/shop/domain/rules.h", '#include "common/status.h"\n')
        self.write("services/shop/domain/rules.cc",
                   '#include "services/shop/domain/rules.h"\n#include <string>\n')
        self.manifest(["services/shop/domain/rules.cc"],
                      ["techtrade_status", "absl::status", "protobuf::libprotobuf"])

    def tearDown(self):
        self.dir.cleanup()

    def write(self, relative, text):
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)

    def manifest(self, sources, links):
        (self.build / "layers").mkdir(parents=True, exist_ok=True)
        lines = [f"source {self.root / s}" for s in sources] + [f"link {l}" for l in links]
        (self.build / "layers" / "shop_domain.txt").write_text("\n".join(lines) + "\n")

    def errors(self):
        return check_layers.check(self.root, self.build)

    def test_pure_domain_passes(self):
        self.assertEqual(self.errors(), [])

    def test_direct_grpc_include_fails(self):
        self.write("services/shop/domain/rules.cc", "#include <grpcpp/grpcpp.h>\n")
        self.assertEqual(self.errors(), [
            "shop_domain: services/shop/domain/rules.cc includes <grpcpp/grpcpp.h>"])

    def test_forbidden_header_through_project_headers_fails(self):
        self.write("common/status.h", '#include "common/db.h"\n')
        self.write("common/db.h", "#include <pqxx/pqxx>\n")
        self.assertEqual(self.errors(), [
            "shop_domain: services/shop/domain/rules.cc -> services/shop/domain/rules.h -> "
            "common/status.h -> common/db.h includes <pqxx/pqxx>"])

    def test_generated_service_stub_fails(self):
        self.write("services/shop/domain/rules.h", '#include "techtrade/shop/v1/shop.grpc.pb.h"\n')
        self.assertEqual(len(self.errors()), 1)

    def test_each_io_library_fails_when_linked(self):
        for library in ["gRPC::grpc++", "PkgConfig::PQXX", "PkgConfig::PQ", "PkgConfig::RDKAFKA",
                        "rdkafka++", "PkgConfig::HIREDIS", "techtrade_common"]:
            with self.subTest(library=library):
                self.manifest(["services/shop/domain/rules.cc"], ["absl::status", library])
                errors = self.errors()
                if library == "techtrade_common":
                    self.assertEqual(errors, [])  # only what it links in turn counts
                else:
                    self.assertEqual(errors, [f"shop_domain: links {library}"])

    def test_domain_source_outside_every_domain_library_fails(self):
        self.write("services/shop/domain/extra.cc", "int x;\n")
        self.assertEqual(self.errors(), [
            "services/shop/domain/extra.cc: in no domain library "
            "(techtrade_domain_library in its service's CMakeLists.txt)"])

    def test_no_manifest_fails(self):
        for f in (self.build / "layers").iterdir():
            f.unlink()
        self.assertTrue(self.errors())


if __name__ == "__main__":
    unittest.main()
