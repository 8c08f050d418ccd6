using System.Collections.Concurrent;

namespace TrustServer.Tuf.Keys;

/// <summary>
/// Imported public keys kept for reuse, by key ID (the ID covers key type and bytes, so one ID is one key). An
/// instance is used by one caller at a time: <see cref="Rent"/> takes it out, <see cref="Return"/> puts it back, so
/// concurrent verifications with one key import it a few times instead of sharing an object that is not documented
/// as thread-safe. Bounded: once <see cref="MaxKeys"/> IDs are held, the pool is emptied and refills.
/// </summary>
/// <typeparam name="T">The key object.</typeparam>
internal sealed class ImportedKeyPool<T>
    where T : class, IDisposable
{
    /// <summary>Most key IDs held at once.</summary>
    public const int MaxKeys = 4096;

    // Instances per ID beyond this are disposed on return (only as many as verify at once with that key are needed).
    private const int MaxInstancesPerKey = 8;

    private readonly ConcurrentDictionary<string, ConcurrentQueue<T>> _pools = new(StringComparer.Ordinal);

    /// <summary>Takes an imported instance of the key out of the pool; null when there is none free.</summary>
    public T? Rent(string keyId) => _pools.TryGetValue(keyId, out var pool) && pool.TryDequeue(out var key) ? key : null;

    /// <summary>Puts an instance of the key (rented or newly imported) back for the next caller.</summary>
    public void Return(string keyId, T key)
    {
        if (!_pools.TryGetValue(keyId, out var pool))
        {
            if (_pools.Count >= MaxKeys)
            {
                _pools.Clear();
            }

            pool = _pools.GetOrAdd(keyId, static _ => new ConcurrentQueue<T>());
        }

        if (pool.Count >= MaxInstancesPerKey)
        {
            key.Dispose();
            return;
        }

        pool.Enqueue(key);
    }
}
