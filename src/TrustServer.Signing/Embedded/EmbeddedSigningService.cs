using Microsoft.Extensions.Logging;
using TrustServer.Signing.Keys;
using TrustServer.Signing.Keys.Pkcs11;
using TrustServer.Signing.Remote;
using TrustServer.Tuf;
using TrustServer.Tuf.Keys;
using TrustServer.Tuf.Metadata;

namespace TrustServer.Signing.Embedded;

/// <summary>
/// <see cref="ISigningService"/> over the in-process <see cref="KeyStore"/> (DESIGN.md §1, embedded default): the same
/// semantics as the server's use of notary-signer (spec signer.md §7), with the recommended C# behaviour that a key
/// that cannot be loaded counts as "not held" instead of aborting the signing. A PKCS#11 token that failed and did
/// not recover is reported as <see cref="SignerUnavailableException"/>, as an unreachable remote signer is.
/// </summary>
internal sealed partial class EmbeddedSigningService(KeyStore store, ILogger<EmbeddedSigningService> logger) : ISigningService
{
    /// <inheritdoc />
    public async Task<TufPublicKey> CreateKeyAsync(string gun, string role, string algorithm, CancellationToken cancellationToken = default)
    {
        try
        {
            var key = await store.CreateKeyAsync(gun, role, algorithm, cancellationToken).ConfigureAwait(false);
            return key.PublicKey;
        }
        catch (Pkcs11TokenException ex) when (ex is not KeyAlgorithmNotSupportedException)
        {
            throw Unavailable(ex);
        }
    }

    /// <summary>
    /// The key, or null when it is unknown — or cannot be loaded (missing passphrase, decryption failure): like
    /// notary-signer's GetKeyInfo, which reports every load failure as NOT_FOUND (signer.md §3). The failure is logged.
    /// </summary>
    public async Task<ServerKeyInfo?> GetKeyInfoAsync(string keyId, CancellationToken cancellationToken = default)
    {
        try
        {
            var key = await store.GetKeyInfoAsync(keyId, cancellationToken).ConfigureAwait(false);
            return key is null ? null : new ServerKeyInfo(key.PublicKey, key.Role);
        }
        catch (KeyStoreException)
        {
            return null;
        }
        catch (Pkcs11TokenException ex)
        {
            throw Unavailable(ex);
        }
    }

    /// <inheritdoc />
    public async ValueTask<IReadOnlyList<TufSignature>> SignAsync(
        string gun, string role, IReadOnlyList<TufPublicKey> keys, ReadOnlyMemory<byte> canonicalBody, CancellationToken cancellationToken)
    {
        var signatures = new List<TufSignature>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var key in keys)
        {
            if (!seen.Add(key.Id) || CanonicalIdOrNull(key) is not { } canonicalId)
            {
                continue;
            }

            StoredKeySignature? signature;
            try
            {
                // The server looks keys up by canonical ID (signer.md §7) but lists signatures under the ID in the root.
                signature = await store.SignAsync(canonicalId, canonicalBody, cancellationToken).ConfigureAwait(false);
            }
            catch (KeyStoreException)
            {
                // Logged by the store; counts as not held, the threshold check decides.
                continue;
            }
            catch (Pkcs11TokenException ex)
            {
                throw Unavailable(ex);
            }

            if (signature is not null)
            {
                signatures.Add(new TufSignature(key.Id, SignatureMethod.ForKeyType(signature.Key.Algorithm), signature.Value));
            }
            else
            {
                LogKeyNotHeld(logger, gun, role, key.Id);
            }
        }

        return signatures;
    }

    private SignerUnavailableException Unavailable(Pkcs11TokenException exception)
    {
        LogTokenUnavailable(logger, exception.Message);
        return new SignerUnavailableException(exception.Message, exception);
    }

    private static string? CanonicalIdOrNull(TufPublicKey key)
    {
        try
        {
            return key.CanonicalId;
        }
        catch (TufFormatException)
        {
            // An x509 key without a parsable certificate cannot be one of ours.
            return null;
        }
    }

    [LoggerMessage(EventId = 3011, Level = LogLevel.Debug, Message = "Key {KeyId} of {Gun} {Role} is not held by the embedded signer")]
    private static partial void LogKeyNotHeld(ILogger logger, string gun, string role, string keyId);

    [LoggerMessage(EventId = 3103, Level = LogLevel.Error, Message = "The PKCS#11 token is unavailable: {Reason}")]
    private static partial void LogTokenUnavailable(ILogger logger, string reason);
}
