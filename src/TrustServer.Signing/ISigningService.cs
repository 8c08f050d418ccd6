using TrustServer.Tuf.Keys;
using TrustServer.Tuf.Validation;

namespace TrustServer.Signing;

/// <summary>A server-held key as the signer describes it: the public key (keytype = algorithm) and the role it was created for.</summary>
public sealed record ServerKeyInfo(TufPublicKey PublicKey, string Role);

/// <summary>
/// The server's access to server-managed keys (timestamp, and snapshot when the repository lets the server manage
/// it), mirroring notary-signer's KeyManagement/Signer services (spec signer.md §3, §7). Implemented in-process
/// by the embedded key store and, for production, by a gRPC client of the signer.
/// <see cref="IServerSigner.SignAsync"/> signs with every listed key the signer holds (an unknown key is "not held").
/// </summary>
public interface ISigningService : IServerSigner
{
    /// <summary>
    /// Returns the pending (never used for signing) key for exactly (gun, role, algorithm) with the smallest key ID,
    /// or creates, encrypts and stores a new one (signer.md §6). <paramref name="algorithm"/> is <c>ecdsa</c> or
    /// <c>ed25519</c>; anything else throws <see cref="ArgumentException"/>.
    /// </summary>
    Task<TufPublicKey> CreateKeyAsync(string gun, string role, string algorithm, CancellationToken cancellationToken = default);

    /// <summary>The key with this TUF key ID, or null when the signer does not hold it. Does not mark it used.</summary>
    Task<ServerKeyInfo?> GetKeyInfoAsync(string keyId, CancellationToken cancellationToken = default);
}
