// Package crypto holds every cryptographic decision Candour makes, built on
// [filippo.io/age] and golang.org/x/crypto. Nothing here implements a
// primitive.
//
// The pieces, in the order a report meets them:
//
//   - [ParseRecipients] reads the organisation's age recipients file and
//     refuses a mix of post-quantum and classic keys.
//   - [NewCaseCode] makes the reporter's only credential; [ParseCaseCode]
//     forgives the ways people mistype it.
//   - [KDFParams.Derive] turns a case code into a [CaseKeys]: a lookup id that
//     finds the case and a key that unwraps the case's own age identity
//     ([WrapCaseIdentity], [UnwrapCaseIdentity]).
//   - [Recipients.ForCase] is who every item of a case is encrypted to: the
//     organisation and the case itself; each item is one standard age file.
//   - [Message] is the versioned structure inside each message's age file,
//     written by [SealMessage] and read by [OpenMessage].
package crypto
