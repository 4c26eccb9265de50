// The staff login pages' script: passkeys (passkey.js). The login form
// itself works without it, with the code from an authenticator app.
import { loginPage } from "./passkey.js";

loginPage();
