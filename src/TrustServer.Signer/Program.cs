// TrustServer signer: notary-signer's gRPC API over the encrypted key store (spec/signer.md).
// `migrate` applies the key database's migrations and exits; `reencrypt <newAlias>` re-encrypts every key and exits.
return await TrustServer.Signer.SignerHost.RunAsync(args);
