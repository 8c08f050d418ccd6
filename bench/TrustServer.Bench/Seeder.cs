using System.Security.Cryptography;
using TrustServer.Testing;

namespace TrustServer.Bench;

/// <summary>The seeded repository as one server serves it: the URLs measured and the size of each body.</summary>
internal sealed record SeededRepository(string Gun, string SnapshotSha256, IReadOnlyDictionary<string, int> Sizes);

/// <summary>Seeds the benchmark repository with the real notary 0.7.0 client: init --publish, then a few targets.</summary>
internal static class Seeder
{
    public const string Gun = "bench.example.com/library/app";

    public const int TargetCount = 3;

    public static async Task<SeededRepository> SeedAsync(Target target, string caFile, HttpClient http, string workDirectory, CancellationToken cancellationToken)
    {
        using var notary = new NotaryCli(new NotaryCliOptions { ServerUrl = target.Url, TlsCaCertPath = caFile, Timeout = TimeSpan.FromMinutes(2) });
        await notary.RunCheckedAsync(["init", Gun, "--publish"], cancellationToken: cancellationToken);
        for (var i = 1; i <= TargetCount; i++)
        {
            var payload = Path.Combine(workDirectory, $"payload-{i}.bin");
            await File.WriteAllTextAsync(payload, $"benchmark payload {i}\n", cancellationToken);
            await notary.RunCheckedAsync(["add", Gun, $"v{i}", payload, "--publish"], cancellationToken: cancellationToken);
        }

        var sizes = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var role in new[] { "timestamp", "root", "targets", "snapshot" })
        {
            sizes[role] = (await http.GetByteArrayAsync(new Uri($"{target.Url}/v2/{Gun}/_trust/tuf/{role}.json"), cancellationToken)).Length;
        }

        var snapshot = await http.GetByteArrayAsync(new Uri($"{target.Url}/v2/{Gun}/_trust/tuf/snapshot.json"), cancellationToken);
        return new SeededRepository(Gun, Convert.ToHexStringLower(SHA256.HashData(snapshot)), sizes);
    }
}
