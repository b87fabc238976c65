/* datafile.h - load env/ data files the way ansible-runner's ArtifactLoader
 * does (JSON first, then YAML with PyYAML safe_load semantics), and Python's
 * str() of the loaded values. */
#ifndef RUNNEL_DATAFILE_H
#define RUNNEL_DATAFILE_H

#include <jansson.h>
#include "runnel.h"

/*
 * Load a data file the way ansible-runner does: parse it as JSON (Python's
 * json.loads); if that fails or gives a falsy value (null, false, 0, "", [],
 * {}), parse it as YAML with PyYAML safe_load semantics (YAML 1.1 implicit
 * types: null, bool yes/no/on/off/true/false, int incl. 0x/0b/leading-0
 * octal/sexagesimal/underscores, float incl. .inf/.nan; explicit !!tags;
 * anchors and aliases; merge keys <<). Returns a new reference of any type
 * (an empty file gives json null), or NULL with err.
 *
 * Where jansson cannot hold the Python value, it is stored as a string that
 * prints the way Python's str() does: integers beyond 64 bits (decimal
 * digits), .inf/.nan ("inf", "-inf", "nan"), timestamps ("2001-12-14",
 * "2001-12-14 21:59:43.100000-05:00"). !!binary gives the decoded bytes as a
 * string (must be UTF-8), !!set an object whose values are null, !!omap and
 * !!pairs a list of [key, value] lists. Mapping keys that are not strings are
 * converted to their Python str() ("1", "True", "None"); container keys are an
 * error ("found unhashable key"), as are recursive aliases, several documents
 * ("expected a single document in the stream") and unknown tags.
 *
 * Errors: err->code ENOENT when the file does not exist, another errno when it
 * cannot be read, E2BIG past a bound (below), EINVAL when it parses neither as JSON nor as YAML
 * (message:
 * "<path>: line L, column C: <problem> (<context> at line L, column C)").
 * Files may be named pipes: they are read once.
 */
json_t *rn_datafile_load(const char *path, runnel_error *err);

/*
 * Bounds of every load, so that a small document cannot cost a lot of memory
 * or stack: the text (RN_DATAFILE_MAX_BYTES), and the tree a YAML document
 * makes once its aliases are expanded (RN_DATAFILE_MAX_NODES nodes, 512
 * levels; a "billion laughs" of a few hundred bytes expands to billions).
 * The expansion is counted on the composed document, without building it.
 * Past a bound, a load fails with err->code E2BIG and a message naming the
 * file or field: "<what>: YAML alias expansion exceeds 1000000 nodes",
 * "<what>: document exceeds 67108864 bytes".
 */
#define RN_DATAFILE_MAX_BYTES (64u << 20)
#define RN_DATAFILE_MAX_NODES 1000000u

/*
 * rn_datafile_load() of text in memory: what names the text in messages (a
 * path, or a field such as "variables"). Same results and errors, within the
 * same bounds (E2BIG past one; never a falsy JSON value then).
 */
json_t *rn_datafile_parse(const char *what, const char *data, size_t len, runnel_error *err);

/*
 * Load a mapping file (env/envvars, env/settings, env/passwords). Returns a
 * new json object, or NULL with err: ENOENT if absent; EINVAL if it does not
 * parse, is empty, or is not a mapping ("<path>: expected a mapping, got a
 * list"); another errno if unreadable. Upstream treats all of these as an
 * absent file (silently); the caller should warn and do the same.
 */
json_t *rn_datafile_load_mapping(const char *path, runnel_error *err);

/*
 * Python's str() of a loaded value: "True"/"False", "None", ints in decimal,
 * floats as Python's repr (1.0, 1e+20, 0.0001, 1e-05), strings as themselves,
 * lists and dicts as Python's repr ("['a', 1]", "{'k': 'v'}", strings inside
 * quoted and escaped like repr(); non-ASCII kept except common non-printable
 * code points). Caller frees.
 */
char *rn_py_str(const json_t *v);

#endif
