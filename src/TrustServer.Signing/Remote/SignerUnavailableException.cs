namespace TrustServer.Signing.Remote;

/// <summary>The remote signer could not be reached or failed; no key operation or signature happened.</summary>
public sealed class SignerUnavailableException(string message, Exception inner) : Exception(message, inner);
