using TrustServer.Data;
using TrustServer.Data.Webhooks;
using TrustServer.Server.Audit;
using TrustServer.Signing;
using TrustServer.Tuf.Keys;
using TrustServer.Tuf.Metadata;

namespace TrustServer.Server.Notary;

/// <summary>
/// The server-managed keys of a repository (spec server-api.md §7): which key the server hands out for
/// <c>GET {role}.key</c>, and the signer's pending key for rotation. Every key the signer creates is audited
/// (<see cref="AuditActions.KeyCreate"/> or <see cref="AuditActions.KeyRotate"/>, the key id in the detail) in the
/// metadata database right after the signer's own transaction: the key store may be another database or another
/// process (a remote signer), so the two cannot share a transaction; a crash between them leaves a key without its
/// audit row, never an audit row without a key.
/// </summary>
internal sealed class ServerKeys(IMetadataStore store, CurrentChainReader chains, ISigningService signer, AuditTrail audit)
{
    /// <summary>
    /// GET <c>{role}.key</c> of a published repository: the first key the signer holds among the current root's keys of
    /// the role; null when there is no root or the signer holds none of them (then the key is created, spec server-api.md §7.1).
    /// </summary>
    public async Task<TufPublicKey?> GetHeldKeyAsync(string gun, string role, CancellationToken cancellationToken)
    {
        var chain = await chains.LoadChainAsync(store, gun, cancellationToken);
        var rootFile = chain is null ? null : await CurrentChainReader.GetBySnapshotEntryAsync(store, gun, RoleName.Root, chain.Snapshot, cancellationToken);
        if (rootFile is not null)
        {
            var root = RootMetadata.FromEnvelope(SignedEnvelope.Parse(rootFile.Data));
            foreach (var keyId in root.Roles.GetValueOrDefault(role)?.KeyIds ?? [])
            {
                var held = await signer.GetKeyInfoAsync(keyId, cancellationToken);
                if (held is not null)
                {
                    return held.PublicKey;
                }
            }
        }

        return null;
    }

    /// <summary>
    /// POST <c>{role}.key</c> (<paramref name="rotate"/>), and GET without a held key: the signer's pending key for
    /// (gun, role), created when there is none; audited, also when the signer fails.
    /// </summary>
    public async Task<TufPublicKey> CreateKeyAsync(string gun, string role, string algorithm, bool rotate, AuditActor actor, CancellationToken cancellationToken)
    {
        var action = rotate ? AuditActions.KeyRotate : AuditActions.KeyCreate;
        TufPublicKey key;
        try
        {
            key = await signer.CreateKeyAsync(gun, role, algorithm, cancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            await audit.RecordAsync(new AuditEntry(action, AuditOutcomes.Failed, actor, gun, role, "signer error: " + e.GetType().Name));
            throw;
        }

        // A rotation's key-rotated webhook event is written with its audit entry (same transaction, same best effort).
        var webhook = rotate ? new WebhookEvent(WebhookEventTypes.KeyRotated, gun, [new WebhookRole(role)], null, actor, DateTimeOffset.UtcNow, KeyId: key.Id) : null;
        await audit.RecordAsync(new AuditEntry(action, AuditOutcomes.Succeeded, actor, gun, role, $"key {key.Id} ({key.KeyType})"), webhook);
        return key;
    }
}
