/**
 * The Python programs the generated recipe ships in the build context and runs in exec form.
 *
 * They exist so that no value of a definition is ever part of a Dockerfile or a shell line: each
 * reads its input from a JSON file of the build context (or a JSON argument) and hands values to
 * the tools it calls as separate arguments (`subprocess` with a list, never `shell=True`). They
 * run on the image's own Python 3 (the standard library only), as the build or check step needs.
 *
 * @since 0.2.0
 */

/**
 * Installs a solved conda lock into a prefix without conda: downloads each package (`.tar.bz2`),
 * checks its sha256, extracts it, rewrites the text prefix placeholder of the files `paths.json`
 * lists, and writes `conda-meta/<name>-<version>-<build>.json`. What it does not do, and refuses
 * with a clear message rather than installing something half-way: `.conda` archives (zstd is not
 * in Python's standard library), `noarch: python` packages (site-packages, entry points, pyc) and
 * binary-mode prefix relocation. Real images use micromamba for those (README).
 *
 * argv: LOCK_JSON PREFIX
 *
 * @since 0.2.0
 * @category scripts
 */
export const condaInstaller = String.raw`import hashlib, io, json, os, shutil, sys, tarfile, tempfile, urllib.request

PLACEHOLDER = "/opt/anaconda1anaconda2anaconda3"

def fail(message):
    print("terrarium-conda: " + message, file=sys.stderr)
    sys.exit(1)

def safe_members(archive, name):
    for member in archive.getmembers():
        parts = member.name.split("/")
        if member.name.startswith("/") or ".." in parts:
            fail("%s: unsafe path in archive: %r" % (name, member.name))
        if not (member.isfile() or member.isdir() or member.issym()):
            fail("%s: unsupported archive member: %r" % (name, member.name))
        if member.issym() and (member.linkname.startswith("/") or ".." in member.linkname.split("/")):
            fail("%s: symbolic link leaves the package: %r" % (name, member.name))
        yield member

def install(package, prefix):
    label = "%s-%s-%s" % (package["name"], package["version"], package["build"])
    url = package["url"]
    if not url.endswith(".tar.bz2"):
        fail("%s: only .tar.bz2 packages can be installed without conda (got %s)" % (label, url))
    with urllib.request.urlopen(url, timeout=120) as response:
        data = response.read()
    expected = package.get("sha256")
    if expected and hashlib.sha256(data).hexdigest() != expected:
        fail("%s: sha256 of %s does not match the lock" % (label, url))
    with tempfile.TemporaryDirectory() as work:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:bz2") as archive:
            archive.extractall(work, members=list(safe_members(archive, label)))
        with open(os.path.join(work, "info", "index.json")) as f:
            index = json.load(f)
        noarch = index.get("noarch")
        if noarch not in (None, "generic"):
            fail("%s: noarch: %s packages need conda or micromamba" % (label, noarch))
        paths_file = os.path.join(work, "info", "paths.json")
        entries = []
        if os.path.exists(paths_file):
            with open(paths_file) as f:
                entries = json.load(f).get("paths", [])
        else:
            with open(os.path.join(work, "info", "files")) as f:
                entries = [{"_path": line.strip()} for line in f if line.strip()]
        files = []
        for entry in entries:
            relative = entry["_path"]
            if relative.startswith("/") or ".." in relative.split("/"):
                fail("%s: unsafe path in paths.json: %r" % (label, relative))
            source = os.path.join(work, relative)
            target = os.path.join(prefix, relative)
            os.makedirs(os.path.dirname(target), exist_ok=True)
            if os.path.lexists(target):
                os.remove(target)
            if os.path.islink(source):
                os.symlink(os.readlink(source), target)
            else:
                shutil.copy2(source, target)
            placeholder = entry.get("prefix_placeholder")
            if placeholder:
                if entry.get("file_mode", "text") != "text":
                    fail("%s: %s needs binary prefix relocation, which needs conda or micromamba" % (label, relative))
                with open(target, "rb") as f:
                    content = f.read()
                with open(target, "wb") as f:
                    f.write(content.replace(placeholder.encode(), prefix.encode()))
            files.append(relative)
        meta = {"name": package["name"], "version": package["version"], "build": package["build"],
                "channel": package["channel"], "url": url, "sha256": hashlib.sha256(data).hexdigest(),
                "depends": index.get("depends", []), "files": files}
        with open(os.path.join(prefix, "conda-meta", label + ".json"), "w") as f:
            json.dump(meta, f, indent=1, sort_keys=True)
    print("terrarium-conda: installed %s" % label)

def main():
    with open(sys.argv[1]) as f:
        lock = json.load(f)
    prefix = sys.argv[2]
    os.makedirs(os.path.join(prefix, "conda-meta"), exist_ok=True)
    for package in lock["packages"]:
        install(package, prefix)

main()
`

/**
 * Runs pip with the options and requirements of a JSON file, as one argument each, after `--` so
 * that no requirement is ever read as an option. `flags` are the definition's verbatim pip option
 * lines (`--pre`), split like a requirements file would (shlex, no shell).
 *
 * argv: PIP_JSON
 *
 * @since 0.2.0
 * @category scripts
 */
export const pipInstaller = String.raw`import json, shlex, subprocess, sys

with open(sys.argv[1]) as f:
    spec = json.load(f)
argv = [sys.executable, "-m", "pip", "install", "--no-cache-dir", "--disable-pip-version-check", "--no-input"]
if spec.get("indexUrl"):
    argv += ["--index-url", spec["indexUrl"]]
for url in spec.get("extraIndexUrls", []):
    argv += ["--extra-index-url", url]
for link in spec.get("findLinks", []):
    argv += ["--find-links", link]
for flag in spec.get("flags", []):
    argv += shlex.split(flag)
argv += ["--"] + spec["requirements"]
sys.exit(subprocess.call(argv))
`

/**
 * Installs the private wheels of a definition in a BuildKit step that mounts their read URLs as
 * a secret (`RUN --mount=type=secret`, never a build argument): downloads each wheel itself,
 * checks its SHA-256 against the reference, and hands pip the local files, with the definition's
 * index options for their dependencies. pip never sees a URL, so none is in its output, in an
 * error, or in the `direct_url.json` it writes into the image; a failed download says the wheel
 * and the HTTP status, never the URL. The downloads are in a temporary folder removed before the
 * step ends, and the secret is not part of any layer.
 *
 * argv: WHEELS_JSON SECRET_FILE (the secret: `{"urls": [url…]}`, one per wheel, in order)
 *
 * @since 0.3.0
 * @category scripts
 */
export const wheelInstaller = String.raw`import hashlib, json, os, shlex, subprocess, sys, tempfile, urllib.error, urllib.request

def fail(message):
    print("terrarium-wheels: " + message, file=sys.stderr)
    sys.exit(1)

with open(sys.argv[1]) as f:
    spec = json.load(f)
try:
    with open(sys.argv[2]) as f:
        urls = json.load(f)["urls"]
except Exception:
    fail("the build secret with the wheels' read URLs is missing or unreadable")
if len(urls) != len(spec["wheels"]):
    fail("the build secret has %d URLs for %d wheels" % (len(urls), len(spec["wheels"])))
limit = spec["maxBytes"]
with tempfile.TemporaryDirectory() as work:
    paths = []
    for wheel, url in zip(spec["wheels"], urls):
        name = wheel["fileName"]
        try:
            with urllib.request.urlopen(url, timeout=300) as response:
                data = response.read(limit + 1)
        except urllib.error.HTTPError as error:
            fail("%s: the blob store answered HTTP %d" % (name, error.code))
        except Exception as error:
            fail("%s: the download failed (%s)" % (name, type(error).__name__))
        if len(data) > limit:
            fail("%s: larger than %d bytes" % (name, limit))
        if hashlib.sha256(data).hexdigest() != wheel["sha256"]:
            fail("%s: its sha256 is not the one the reference names" % name)
        path = os.path.join(work, name)
        with open(path, "wb") as f:
            f.write(data)
        print("terrarium-wheels: %s (%d bytes, sha256 %s)" % (name, len(data), wheel["sha256"]))
        paths.append(path)
    pip = spec["pip"]
    argv = [sys.executable, "-m", "pip", "install", "--no-cache-dir", "--disable-pip-version-check", "--no-input"]
    if pip.get("indexUrl"):
        argv += ["--index-url", pip["indexUrl"]]
    for url in pip.get("extraIndexUrls", []):
        argv += ["--extra-index-url", url]
    for link in pip.get("findLinks", []):
        argv += ["--find-links", link]
    for flag in pip.get("flags", []):
        argv += shlex.split(flag)
    code = subprocess.call(argv + ["--"] + paths)
sys.exit(code)
`

/**
 * Reads back what an image holds, run in the built image with no network: every installed
 * distribution of the environment's Python (`importlib.metadata`, what `pip inspect` reads), the
 * conda packages of the prefix (`conda-meta`), and whether the top-level modules of the
 * distributions the definition asked for import. Prints one JSON line.
 *
 * The modules of a distribution are its `top_level.txt`, or else the first segment of the `.py`
 * files and packages its RECORD lists: what `import` can name.
 *
 * argv: CHECK_JSON (`{"distributions": [name…], "condaPrefix": path}`)
 *
 * @since 0.2.0
 * @category scripts
 */
export const imageCheck = String.raw`import importlib, importlib.metadata as md, json, os, re, sys, traceback

request = json.loads(sys.argv[1])
normal = lambda name: re.sub(r"[-_.]+", "-", name).lower()
installed = {}
for dist in md.distributions():
    name = dist.metadata["Name"]
    if name:
        installed.setdefault(normal(name), (name, dist))

def modules(dist):
    text = dist.read_text("top_level.txt")
    if text:
        return sorted({line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("_")})
    found = set()
    for path in dist.files or []:
        parts = path.parts
        if not parts or parts[0] in ("..", "__pycache__") or parts[0].endswith((".dist-info", ".egg-info", ".data")):
            continue
        if len(parts) == 1 and parts[0].endswith(".py"):
            found.add(parts[0][:-3])
        elif len(parts) > 1 and parts[-1] == "__init__.py" and len(parts) == 2:
            found.add(parts[0])
    return sorted(m for m in found if not m.startswith("_"))

imports = []
for wanted in request["distributions"]:
    entry = installed.get(normal(wanted))
    if entry is None:
        imports.append({"distribution": wanted, "module": wanted, "ok": False, "error": "distribution not installed"})
        continue
    for module in modules(entry[1]):
        try:
            importlib.import_module(module)
            imports.append({"distribution": wanted, "module": module, "ok": True})
        except BaseException:
            imports.append({"distribution": wanted, "module": module, "ok": False,
                            "error": traceback.format_exc(limit=3)[-2000:]})

conda = []
meta = os.path.join(request.get("condaPrefix") or "/nonexistent", "conda-meta")
if os.path.isdir(meta):
    for file in sorted(os.listdir(meta)):
        if file.endswith(".json"):
            with open(os.path.join(meta, file)) as f:
                record = json.load(f)
            conda.append({"name": record.get("name"), "version": record.get("version"), "build": record.get("build")})

print(json.dumps({
    "python": sys.version.split()[0],
    "pip": sorted(({"name": name, "version": dist.version} for name, dist in installed.values()), key=lambda p: normal(p["name"])),
    "conda": conda,
    "imports": imports,
}))
`
