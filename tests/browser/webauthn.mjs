// Chromium's virtual authenticator, driven through the DevTools Protocol
// (the WebAuthn domain) from a playwright-core page: the browser tests of
// passkey login and of the passkey-wrapped identity use it in place of a
// security key.
//
// What was learnt by experiment in Chromium 156 (headless, playwright-core
// 1.65), on a page from http://localhost:PORT:
// - WebAuthn needs a secure context and a valid RP ID: an IP address is not
//   one, so the pages must be loaded from http://localhost:PORT (Chromium
//   treats localhost as secure and resolves it to the loopback itself) and
//   the server started with --public-url http://localhost:PORT
//   (startServer({ host: "localhost" }) in helpers.mjs does both).
// - The virtual authenticator belongs to the page's target: add it through
//   a CDP session of that page (virtualAuthenticator(page)); it then
//   answers navigator.credentials.create/get for that tab, across
//   navigations, until the session is detached. Another page (another tab,
//   another context) has no authenticator unless one is added to it too;
//   that is how a "second security key" or "a clone" is made.
// - hasPrf: true works: navigator.credentials.create with
//   extensions { prf: {} } gives getClientExtensionResults().prf.enabled ===
//   true, and a get with prf.eval.first gives 32 bytes in
//   prf.results.first, the same for the same salt and credential. With
//   hasPrf false, prf.enabled is false. PublicKeyCredential's
//   parseCreationOptionsFromJSON / parseRequestOptionsFromJSON exist.
// - On http://127.0.0.1:PORT, create() throws "SecurityError: This is an
//   invalid domain." (an IP address is no RP ID).
// - automaticPresenceSimulation: true (the default here) answers the
//   ceremony at once, as if the user touched the key; isUserVerified sets
//   the UV flag of what it signs, and setUserVerified changes it later.
// - getCredentials gives each credential with its credentialId (base64),
//   rpId, userHandle (base64), privateKey (base64 PKCS#8), signCount and
//   isResidentCredential; addCredential takes the same object, so a
//   credential can be cloned into another authenticator with a lower
//   signCount. The authenticator counts one on every ceremony: after a
//   create and two gets, signCount is 3. The authenticator data's flags
//   byte is 5 (UP and UV) when isUserVerified.
// - User verification, as Chromium 156 does it: a discoverable ceremony
//   (no allowCredentials: a passkey alone) needs UV whatever the
//   userVerification option says; with setUserVerified(false) it fails
//   in the browser (NotAllowedError) and never reaches the server. With
//   allowCredentials and userVerification "discouraged", the same
//   authenticator signs with UV off (flags 1): that is how a test makes
//   an assertion without UV reach the server (a tampered page). Once a
//   ceremony has failed UV, this authenticator refuses every later one,
//   even after setUserVerified(true) (NotAllowedError at once); renew()
//   replaces it by a fresh one holding the same credentials.
// - An authenticator holding a credential the server lists in
//   excludeCredentials refuses to register again (InvalidStateError): a
//   test that registers a second key must remove() the first and add
//   another authenticator (a different key), e.g. { transport: "usb" }.
// - Credentials are per authenticator and authenticators per page: a
//   second context (another machine) needs its own, and addCredential of
//   a getCredentials() result makes it hold the same key (a clone).
//
// Talks only to the browser.

// defaults are the options of a platform passkey with user verification
// and PRF, which is what a caseworker's laptop or phone offers.
export const defaults = {
  protocol: "ctap2",
  ctap2Version: "ctap2_1",
  transport: "internal",
  hasResidentKey: true,
  hasUserVerification: true,
  isUserVerified: true,
  hasPrf: true,
  automaticPresenceSimulation: true,
};

// virtualAuthenticator enables the WebAuthn domain for page and adds an
// authenticator with options (over defaults). It returns an object to
// inspect and change it; its id is authenticatorId.
export async function virtualAuthenticator(page, options = {}) {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("WebAuthn.enable", { enableUI: false });
  const all = { ...defaults, ...options };
  const { authenticatorId } = await cdp.send("WebAuthn.addVirtualAuthenticator", { options: all });
  return new Authenticator(page, cdp, authenticatorId, all);
}

// Authenticator is one virtual authenticator of one page.
export class Authenticator {
  constructor(page, cdp, authenticatorId, options) {
    this.page = page;
    this.cdp = cdp;
    this.authenticatorId = authenticatorId;
    this.options = options;
  }

  // renew removes it from its page and returns a fresh one with the same
  // options (and isUserVerified) holding its credentials, sign counts
  // included: a security key unplugged and plugged in again, which clears
  // the state a failed user verification leaves (see the notes above).
  async renew(isUserVerified = this.options.isUserVerified) {
    const credentials = await this.getCredentials();
    await this.remove();
    const fresh = await virtualAuthenticator(this.page, { ...this.options, isUserVerified });
    for (const c of credentials) await fresh.addCredential(c);
    return fresh;
  }

  // getCredentials lists what it holds (see the notes at the top).
  async getCredentials() {
    const { credentials } = await this.cdp.send("WebAuthn.getCredentials", { authenticatorId: this.authenticatorId });
    return credentials;
  }

  // addCredential puts a credential in it, e.g. one of another
  // authenticator's getCredentials() with another signCount.
  async addCredential(credential) {
    await this.cdp.send("WebAuthn.addCredential", { authenticatorId: this.authenticatorId, credential });
  }

  async removeCredential(credentialId) {
    await this.cdp.send("WebAuthn.removeCredential", { authenticatorId: this.authenticatorId, credentialId });
  }

  async clearCredentials() {
    await this.cdp.send("WebAuthn.clearCredentials", { authenticatorId: this.authenticatorId });
  }

  // setUserVerified decides whether what it signs from now on says the user
  // was verified (a PIN or fingerprint).
  async setUserVerified(isUserVerified) {
    this.options.isUserVerified = isUserVerified;
    await this.cdp.send("WebAuthn.setUserVerified", { authenticatorId: this.authenticatorId, isUserVerified });
  }

  // setPresence turns the automatic touch on or off: off, a ceremony waits
  // (until the page's timeout) as if nobody touched the key.
  async setPresence(enabled) {
    await this.cdp.send("WebAuthn.setAutomaticPresenceSimulation", { authenticatorId: this.authenticatorId, enabled });
  }

  // remove takes it out of the page and ends the session.
  async remove() {
    await this.cdp.send("WebAuthn.removeVirtualAuthenticator", { authenticatorId: this.authenticatorId });
    await this.cdp.detach();
  }
}

// cloneCredential copies credential (from getCredentials) into to with the
// given signCount: a clone of a security key, as made by an attacker who
// extracted its key.
export async function cloneCredential(to, credential, signCount) {
  await to.addCredential({ ...credential, signCount });
}
