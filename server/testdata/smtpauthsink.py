# A real SMTP server (Debian's python3-aiosmtpd) that demands STARTTLS and
# then AUTH before it takes a mail, for the notification tests:
#   python3 smtpauthsink.py PORT DIR CERT KEY USER PASSWORD
# listens on 127.0.0.1:PORT and keeps mails as smtpsink.Sink does (DIR).
# It accepts only USER with PASSWORD, and runs until it is killed.
import signal
import ssl
import sys

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from smtpsink import Sink


def main():
    port, directory, cert, key, user, password = sys.argv[1:7]
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(cert, key)

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = (
            mechanism in ("PLAIN", "LOGIN")
            and auth_data.login == user.encode()
            and auth_data.password == password.encode()
        )
        # handled=False: aiosmtpd itself answers 535 to a refused login.
        return AuthResult(success=ok, handled=False)

    controller = Controller(
        Sink(directory),
        hostname="127.0.0.1",
        port=int(port),
        tls_context=tls,
        require_starttls=True,
        auth_required=True,
        authenticator=authenticator,
    )
    controller.start()
    signal.pause()


if __name__ == "__main__":
    main()
