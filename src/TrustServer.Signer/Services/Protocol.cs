using TrustServer.Signing.Keys;
using TrustServer.Signing.Protocol;

namespace TrustServer.Signer.Services;

/// <summary>Mapping of key store results to the wire messages.</summary>
internal static class Protocol
{
    /// <summary>Key ID and key algorithm (<c>ecdsa</c>/<c>ed25519</c>), as notary-signer fills <c>KeyInfo</c>.</summary>
    public static KeyInfo KeyInfo(StoredKey key) =>
        new() { KeyID = new KeyID { ID = key.KeyId }, Algorithm = new Algorithm { Algorithm_ = key.Algorithm } };
}
