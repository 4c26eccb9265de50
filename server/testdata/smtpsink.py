# A handler for aiosmtpd (Debian's python3-aiosmtpd) that keeps every mail
# exactly as sent: the notification tests start
#   python3 -m aiosmtpd -n -l 127.0.0.1:PORT -c smtpsink.Sink DIR
# with this folder on PYTHONPATH, and read DIR/NNNNNN.eml (the message's
# raw bytes, as received after DATA) and DIR/NNNNNN.rcpt (its envelope
# recipients, one a line). Each pair is complete before the server answers
# DATA, so a mail the client saw accepted is on disk.
import os


class Sink:
    def __init__(self, directory):
        self.directory = directory
        self.count = 0

    @classmethod
    def from_cli(cls, parser, *args):
        if len(args) != 1:
            parser.error("smtpsink.Sink takes one argument: the folder to write mails to")
        return cls(args[0])

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        base = os.path.join(self.directory, "%06d" % self.count)
        with open(base + ".rcpt.tmp", "w") as f:
            f.write("".join(r + "\n" for r in envelope.rcpt_tos))
        with open(base + ".eml.tmp", "wb") as f:
            f.write(envelope.original_content)
        os.rename(base + ".rcpt.tmp", base + ".rcpt")
        os.rename(base + ".eml.tmp", base + ".eml")
        return "250 OK"
