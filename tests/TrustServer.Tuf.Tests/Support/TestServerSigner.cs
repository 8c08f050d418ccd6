using TrustServer.Tuf.Keys;
using TrustServer.Tuf.Metadata;
using TrustServer.Tuf.Validation;

namespace TrustServer.Tuf.Tests.Support;

/// <summary>An in-memory server signer holding some private keys.</summary>
internal sealed class TestServerSigner : IServerSigner
{
    private readonly Dictionary<string, TufSigningKey> _keys = new(StringComparer.Ordinal);

    public List<(string Gun, string Role)> Calls { get; } = [];

    public void Hold(TufSigningKey key) => _keys[key.PublicKey.Id] = key;

    public void Forget(TufSigningKey key) => _keys.Remove(key.PublicKey.Id);

    public bool Holds(KeySigner key) => _keys.ContainsKey(key.PublicKey.Id);

    public ValueTask<IReadOnlyList<TufSignature>> SignAsync(
        string gun, string role, IReadOnlyList<TufPublicKey> keys, ReadOnlyMemory<byte> canonicalBody, CancellationToken cancellationToken)
    {
        Calls.Add((gun, role));
        var signatures = keys
            .Where(k => _keys.ContainsKey(k.Id))
            .Select(k => new TufSignature(k.Id, _keys[k.Id].Method, _keys[k.Id].Sign(canonicalBody.Span)))
            .ToList();
        return ValueTask.FromResult<IReadOnlyList<TufSignature>>(signatures);
    }
}
