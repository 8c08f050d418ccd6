using System.Collections.Concurrent;
using System.Security.Cryptography;
using TrustServer.Tuf.Metadata;

namespace TrustServer.Tuf.Validation;

/// <summary>
/// Roots that passed <see cref="RootTrust"/> validation without a previous root, by GUN and SHA-256 of their bytes.
/// Every update re-validates the stored root, which costs about a millisecond of certificate parsing and signature
/// checks; the outcome depends on the time only through certificate expiry, so an entry is reused only strictly
/// inside the interval in which none of those certificates crosses a boundary. Failures are never cached.
/// Thread-safe; bounded by <see cref="Capacity"/> entries (cleared when full).
/// </summary>
internal sealed class TrustedRootCache
{
    /// <summary>Most roots held at once.</summary>
    public const int Capacity = 1024;

    private readonly ConcurrentDictionary<(string Gun, string Sha256), Entry> _entries = new();

    /// <summary>The root of <paramref name="gun"/> in <paramref name="file"/>, validated at <paramref name="now"/>;
    /// throws <see cref="TufFormatException"/> as <see cref="RootTrust.Validate(SignedEnvelope, RootMetadata?, string, DateTimeOffset)"/>.</summary>
    public RootMetadata Validate(SignedEnvelope file, string gun, DateTimeOffset now)
    {
        var key = (gun, Convert.ToHexStringLower(SHA256.HashData(file.Bytes)));
        if (_entries.TryGetValue(key, out var entry) && now > entry.After && now < entry.Before)
        {
            return entry.Root;
        }

        var root = RootTrust.Validate(file, previous: null, gun, now, out var sameOutcome);
        if (_entries.Count >= Capacity)
        {
            _entries.Clear();
        }

        _entries[key] = new Entry(root, sameOutcome.After, sameOutcome.Before);
        return root;
    }

    private sealed record Entry(RootMetadata Root, DateTimeOffset After, DateTimeOffset Before);
}
