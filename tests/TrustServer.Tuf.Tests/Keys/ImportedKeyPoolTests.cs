using TrustServer.Tuf.Keys;

namespace TrustServer.Tuf.Tests.Keys;

/// <summary>The pool of imported keys behind signature verification: one caller per instance, bounded.</summary>
public sealed class ImportedKeyPoolTests
{
    [Fact]
    public void Rent_UnknownKey_Nothing()
    {
        Assert.Null(new ImportedKeyPool<FakeKey>().Rent("a"));
    }

    [Fact]
    public void Returned_IsRentedOnce_ForThatKeyOnly()
    {
        var pool = new ImportedKeyPool<FakeKey>();
        var key = new FakeKey();
        pool.Return("a", key);

        Assert.Null(pool.Rent("b"));
        Assert.Same(key, pool.Rent("a"));
        Assert.Null(pool.Rent("a")); // in use until returned
    }

    [Fact]
    public void Return_BeyondTheInstancesOfAKey_DisposesTheSurplus()
    {
        var pool = new ImportedKeyPool<FakeKey>();
        var keys = Enumerable.Range(0, 20).Select(_ => new FakeKey()).ToList();
        keys.ForEach(k => pool.Return("a", k));

        var kept = new List<FakeKey>();
        while (pool.Rent("a") is { } rented)
        {
            kept.Add(rented);
        }

        Assert.InRange(kept.Count, 1, keys.Count - 1);
        Assert.All(kept, k => Assert.False(k.Disposed));
        Assert.All(keys.Except(kept), k => Assert.True(k.Disposed));
    }

    [Fact]
    public void MoreKeysThanTheBound_PoolStartsOver()
    {
        var pool = new ImportedKeyPool<FakeKey>();
        var first = new FakeKey();
        pool.Return("key-0", first);
        for (var i = 1; i <= ImportedKeyPool<FakeKey>.MaxKeys; i++)
        {
            pool.Return($"key-{i}", new FakeKey());
        }

        Assert.Null(pool.Rent("key-0"));
        Assert.NotNull(pool.Rent($"key-{ImportedKeyPool<FakeKey>.MaxKeys}"));
    }

    public sealed class FakeKey : IDisposable
    {
        public bool Disposed { get; private set; }

        public void Dispose() => Disposed = true;
    }
}
