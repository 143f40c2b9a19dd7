"""make install and configure: layout, compiled-in directories, no overwrite."""
import os
import subprocess

import e2e


class InstallTest(e2e.TempDirTest):
    def install(self, dest):
        r = subprocess.run(["make", "-s", "-C", e2e.TOP, "install",
                            "DESTDIR=" + dest, "O=" + e2e.BUILD],
                           capture_output=True, text=True, timeout=600)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

    def postconf_d(self, dest, name):
        pc = self.find_installed(dest, "postconf")
        r = e2e.run([pc, "-dh", name])
        self.assertEqual(r.returncode, 0, r.stderr)
        return r.stdout.strip()

    def find_installed(self, dest, name):
        for root, _, files in os.walk(dest):
            if name in files:
                return os.path.join(root, name)
        self.fail(f"{name} not installed under {dest}")

    def test_layout_follows_compiled_in_directories(self):
        dest = os.path.join(self.dir, "d")
        self.install(dest)
        cmd = self.postconf_d(dest, "command_directory")
        conf = self.postconf_d(dest, "config_directory")
        daemon = self.postconf_d(dest, "daemon_directory")
        for p in ("postconf", "postmap", "postalias"):
            path = dest + cmd + "/" + p
            self.assertTrue(os.access(path, os.X_OK), path)
        self.assertTrue(os.path.isdir(dest + daemon), daemon)
        for f in ("main.cf", "master.cf"):
            self.assertTrue(os.path.isfile(dest + conf + "/" + f))
        self.assertTrue(self.postconf_d(dest, "queue_directory")
                        .endswith("/spool/postfix"))
        self.assertTrue(self.postconf_d(dest, "data_directory")
                        .endswith("/lib/postfix"))
        man = [f for _, _, fs in os.walk(dest) for f in fs if f.endswith(".5")]
        self.assertIn("postconf.5", man)

    def test_install_never_overwrites_main_cf(self):
        dest = os.path.join(self.dir, "d")
        self.install(dest)
        conf = dest + self.postconf_d(dest, "config_directory")
        with open(conf + "/main.cf", "a") as f:
            f.write("myhostname = kept.example\n")
        with open(conf + "/master.cf", "w") as f:
            f.write("# mine\n")
        self.install(dest)
        with open(conf + "/main.cf") as f:
            self.assertIn("myhostname = kept.example", f.read())
        with open(conf + "/master.cf") as f:
            self.assertEqual(f.read(), "# mine\n")


class ConfigureTest(e2e.TempDirTest):
    def configure(self, *args):
        script = os.path.join(e2e.TOP, "configure")
        if not os.path.exists(script):
            self.skipTest("configure has not been generated (run autoreconf)")
        return subprocess.run([script, "-q", *args], cwd=self.dir,
                              capture_output=True, text=True, timeout=300)

    def test_missing_dependencies_name_the_debian_package(self):
        cases = [("ac_cv_header_db_h=no", "libdb-dev"),
                 ("ac_cv_header_openssl_ssl_h=no", "libssl-dev"),
]
        for var, pkg in cases:
            r = self.configure(var)
            self.assertNotEqual(r.returncode, 0, var)
            self.assertIn(pkg, r.stderr, var)

    def test_prefix_usr_puts_state_under_var(self):
        r = self.configure("--prefix=/usr", "--sysconfdir=/etc")
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(os.path.join(self.dir, "Makefile")) as f:
            text = f.read()
        self.assertIn("localstatedir = /var\n", text)
        self.assertIn("sysconfdir = /etc\n", text)
