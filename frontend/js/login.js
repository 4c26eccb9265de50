// The staff login and enrolment pages' script: passkeys (passkey.js). The
// forms themselves work without it, with the code from an authenticator
// app.
import { enrolPage, loginPage } from "./passkey.js";

loginPage();
enrolPage();
