// Offline schema validation of Kubernetes manifests (tier 2 of ../shared/docs/k8s-testing.md).
//   node validate.js [--crd TFJOB_CRD.yaml] [--expect-fail] FILE.yaml...
// Every document of every file is parsed as YAML (strictly: duplicate keys are errors) and checked:
// core/batch/networking objects with kubernetes-models (its bundled ~1.31 OpenAPI schemas), TFJob
// with ajv against the operator CRD's openAPIV3Schema (--crd). Prints one line per document.
// Exit 0 when every document passes (or, with --expect-fail, when every FILE has a failing
// document), 1 otherwise, 2 on bad usage.
"use strict";
const fs = require("fs");
const YAML = require("yaml");

const args = process.argv.slice(2);
let crdPath = null;
let expectFail = false;
const files = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === "--crd") crdPath = args[++i];
  else if (args[i] === "--expect-fail") expectFail = true;
  else files.push(args[i]);
}
if (files.length === 0) {
  console.error("usage: node validate.js [--crd CRD.yaml] [--expect-fail] FILE.yaml...");
  process.exit(2);
}

let tfjobValidate = null;
function tfjobValidator() {
  if (tfjobValidate) return tfjobValidate;
  if (!crdPath) throw new Error("a TFJob needs --crd with the operator's CRD to be validated");
  const crd = YAML.parse(fs.readFileSync(crdPath, "utf8"));
  const version = crd.spec.versions.find((v) => v.name === "v1");
  const Ajv = require("ajv");
  // Kubernetes' structural schemas carry x-kubernetes-* keywords and int32/int64 formats Ajv does not
  // know: ignore those, check everything else.
  const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
  tfjobValidate = ajv.compile(version.schema.openAPIV3Schema);
  return tfjobValidate;
}

function validate(obj) {
  if (!obj || typeof obj !== "object") throw new Error("the document is not an object");
  if (typeof obj.apiVersion !== "string" || typeof obj.kind !== "string") throw new Error("apiVersion and kind are required");
  if (obj.apiVersion === "kubeflow.org/v1" && obj.kind === "TFJob") {
    const v = tfjobValidator();
    if (!v(obj)) throw new Error(v.errors.map((e) => `${e.instancePath || "/"} ${e.message}`).join("; "));
    return;
  }
  let mod;
  try {
    mod = require("kubernetes-models/" + obj.apiVersion);
  } catch (e) {
    throw new Error(`no schema for apiVersion ${obj.apiVersion}`);
  }
  const Kind = mod[obj.kind];
  if (!Kind) throw new Error(`no kind ${obj.kind} in ${obj.apiVersion}`);
  new Kind(obj).validate();
}

let failures = 0;
let filesWithoutFailure = [];
for (const file of files) {
  let docs;
  try {
    docs = YAML.parseAllDocuments(fs.readFileSync(file, "utf8"), { uniqueKeys: true, strict: true });
  } catch (e) {
    console.log(`FAIL ${file}: ${e.message}`);
    failures++;
    continue;
  }
  let fileFailed = false;
  for (const doc of docs) {
    if (doc.errors.length) {
      console.log(`FAIL ${file}: YAML: ${doc.errors.map((e) => e.message).join("; ")}`);
      fileFailed = true;
      continue;
    }
    const obj = doc.toJS();
    if (obj === null) continue;  // an empty document (e.g. after a trailing ---)
    const name = `${obj.kind}/${obj.metadata && obj.metadata.name}`;
    try {
      validate(obj);
      console.log(`ok   ${file}: ${name}`);
    } catch (e) {
      console.log(`FAIL ${file}: ${name}: ${e.message}`);
      fileFailed = true;
    }
  }
  if (fileFailed) failures++;
  else filesWithoutFailure.push(file);
}
if (expectFail) {
  if (filesWithoutFailure.length) {
    console.log(`expected every file to fail, but these passed: ${filesWithoutFailure.join(", ")}`);
    process.exit(1);
  }
  process.exit(0);
}
process.exit(failures ? 1 : 0);
