// Passkeys and security keys (WebAuthn) for staff login: the browser's side
// of the ceremonies whose server side is server/webauthn.go. The server's
// options arrive as the JSON form of PublicKeyCredentialCreationOptions or
// PublicKeyCredentialRequestOptions ({"publicKey": …}) and the browser's
// answer goes back as PublicKeyCredential.toJSON(): nothing here decodes
// or checks anything, the server does. Errors are shown in the page's
// role="alert" region, in words.
//
// Used by the console's script (staff.js: the Passkeys page) and by the
// login pages' own small script (login.js), which have no other script.

import { refusal } from "./refusal.js";

// supported reports whether this browser can run the ceremonies as we ask.
export function supported() {
  return (
    typeof window !== "undefined" &&
    typeof window.PublicKeyCredential === "function" &&
    typeof PublicKeyCredential.parseCreationOptionsFromJSON === "function" &&
    typeof PublicKeyCredential.parseRequestOptionsFromJSON === "function"
  );
}

const unsupported =
  "This browser cannot use passkeys here. Use an up-to-date browser, or log in with the code from your authenticator app.";

// postForm posts fields (urlencoded, as every staff form) and returns the
// JSON answer, or throws an Error with the server's reason.
export async function postForm(url, fields) {
  const res = await fetch(url, {
    method: "POST",
    body: new URLSearchParams(fields),
    credentials: "same-origin",
    headers: { Accept: "application/json" },
  });
  if (!res.ok) throw new Error(await refusal(res));
  return res.json();
}

// ceremonyError turns a browser's refusal into words.
export function ceremonyError(err) {
  switch (err && err.name) {
    case "NotAllowedError":
      return "The passkey was not used: the request was cancelled or timed out. Try again.";
    case "InvalidStateError":
      return "This passkey or security key is registered already.";
    case "SecurityError":
      return "The browser refused passkeys on this address. Ask the operator to check the service's public address (--public-url).";
    case "NotSupportedError":
      return unsupported;
    default:
      return (err && err.message) || String(err);
  }
}

// register runs the registration ceremony and stores the new passkey under
// name; returns the server's {id, name}. url is where: /staff/passkeys for
// the logged-in staff member (csrf: the session's, and password: theirs,
// asked again so that a session alone cannot add a way in), or an
// enrolment link's /staff/enrol/TOKEN/passkey (no csrf: the link's token
// is the secret).
export async function register(csrf, name, url = "/staff/passkeys", password = "") {
  const fields = csrf ? { csrf } : {};
  const options = await postForm(`${url}/options`, password ? { ...fields, password } : fields);
  const publicKey = PublicKeyCredential.parseCreationOptionsFromJSON(options.publicKey);
  const credential = await navigator.credentials.create({ publicKey });
  return postForm(url, { ...fields, name, credential: JSON.stringify(credential.toJSON()) });
}

// logIn runs the login ceremony: after the password (csrf: the step
// page's), or alone (passwordless); returns the server's {redirect}.
export async function logIn({ csrf = "", passwordless = false } = {}) {
  const fields = passwordless ? { mode: "passwordless" } : { csrf };
  const options = await postForm("/staff/login/passkey/options", fields);
  const publicKey = PublicKeyCredential.parseRequestOptionsFromJSON(options.publicKey);
  const credential = await navigator.credentials.get({ publicKey });
  return postForm("/staff/login/passkey", { ...fields, credential: JSON.stringify(credential.toJSON()) });
}

function say(box, msg) {
  if (box) box.textContent = msg;
}

// passkeysPage wires the Passkeys page (#passkeys) of the console: the
// "Add a passkey" button. reload shows the page again with a notice.
export function passkeysPage(section, reload) {
  const add = document.getElementById("passkey-add");
  const nameField = document.getElementById("passkey-name");
  const passwordField = document.getElementById("passkey-password");
  const box = document.getElementById("passkey-status");
  if (!add || !nameField) return;
  if (!supported()) {
    say(box, unsupported);
    add.disabled = true;
    return;
  }
  add.addEventListener("click", async () => {
    const name = nameField.value.trim();
    if (!name) {
      say(box, "Give the passkey a name first, such as “Work laptop” or “Blue key”.");
      nameField.focus();
      return;
    }
    if (passwordField && !passwordField.value) {
      say(box, "Type your password first: it is asked again before a passkey is added to your account.");
      passwordField.focus();
      return;
    }
    add.disabled = true;
    say(box, "Follow your browser's request: touch your security key, or confirm with your fingerprint, face or PIN.");
    try {
      const added = await register(section.dataset.csrf, name, "/staff/passkeys", passwordField ? passwordField.value : "");
      if (passwordField) passwordField.value = "";
      await reload({ notice: `The passkey “${added.name}” was added.` });
    } catch (err) {
      say(box, `The passkey was not added. ${ceremonyError(err)}`);
      add.disabled = false;
    }
  });
}

// loginPage wires the login pages: the passkey step after the password
// (#passkey-login in #passkey-step) and a passkey alone (#passkey-only).
export function loginPage() {
  const box = document.getElementById("passkey-error");
  const step = document.getElementById("passkey-step");
  const buttons = [
    [document.getElementById("passkey-login"), () => ({ csrf: step ? step.dataset.csrf : "" })],
    [document.getElementById("passkey-only"), () => ({ passwordless: true })],
  ];
  for (const [button, how] of buttons) {
    if (!button) continue;
    if (!supported()) {
      say(box, unsupported);
      button.disabled = true;
      continue;
    }
    button.addEventListener("click", async () => {
      button.disabled = true;
      say(box, "");
      try {
        const { redirect } = await logIn(how());
        location.assign(redirect);
      } catch (err) {
        say(box, `You are not logged in. ${ceremonyError(err)}`);
        button.disabled = false;
      }
    });
  }
}

// enrolPage wires the enrolment page's optional passkey (#enrol-passkey):
// each one added is listed, and the page stays as it is (reloading it would
// show a new authenticator key).
export function enrolPage() {
  const section = document.getElementById("enrol-passkey");
  const add = document.getElementById("passkey-add");
  const nameField = document.getElementById("passkey-name");
  const box = document.getElementById("passkey-status");
  const list = document.getElementById("passkey-list");
  if (!section || !add || !nameField) return;
  if (!supported()) {
    say(box, unsupported);
    add.disabled = true;
    return;
  }
  const run = async () => {
    const name = nameField.value.trim();
    if (!name) {
      say(box, "Give the passkey a name first, such as “Work laptop” or “Blue key”.");
      nameField.focus();
      return;
    }
    add.disabled = true;
    say(box, "Follow your browser's request: touch your security key, or confirm with your fingerprint, face or PIN.");
    try {
      const added = await register("", name, section.dataset.url);
      const li = document.createElement("li");
      li.textContent = added.name;
      list.append(li);
      nameField.value = "";
      say(box, `The passkey “${added.name}” was added. Now finish setting up your account below.`);
    } catch (err) {
      say(box, `The passkey was not added. ${ceremonyError(err)}`);
    }
    add.disabled = false;
  };
  add.addEventListener("click", run);
  // Enter in the name adds the passkey, rather than sending the
  // enrolment form around it.
  nameField.addEventListener("keydown", (ev) => {
    if (ev.key === "Enter") {
      ev.preventDefault();
      run();
    }
  });
}
