using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace TrustServer.Bench;

/// <summary>One large-upload measurement on one server: wall time, and the server's RSS growth while it ran.</summary>
internal sealed record LargeUploadResult(double Seconds, long PeakGrowthKiB, long RetainedGrowthKiB, string Answers);

/// <summary>One large-upload row: what was sent, and each server's result.</summary>
internal sealed record LargeUploadRow(string Name, long UploadBytes, int AtOnce, LargeUploadResult? TrustServer, LargeUploadResult? Reference);

/// <summary>
/// Large uploads that fail validation (issue §5): a targets.json of 31 MB or 91 MB, unsigned or carrying a forged
/// signature by the repository's real targets key ID, posted to the seeded repository. Measures the wall time of
/// the request(s) and the server's RSS growth (VmRSS sampled every 5 ms) over its RSS just before; "retained" is the
/// growth still there 2 s after the answer (memory a GC has not returned yet).
/// </summary>
internal static class LargeUploads
{
    private const string Boundary = "bench-large-upload-boundary";

    public static async Task MeasureAsync(BenchStack stack, string gun, Report report, Action<string> progress, CancellationToken cancellationToken)
    {
        var small = TargetsFile(31_000_000, null);
        var large = TargetsFile(91_000_000, null);
        var rows = new List<(string Name, Func<string, Task<byte[]>> Body, long Size, int AtOnce)>
        {
            ("31 MB unsigned", _ => Task.FromResult(small), small.Length, 1),
            ("91 MB unsigned", _ => Task.FromResult(large), large.Length, 1),
            ("2 x 31 MB unsigned at once", _ => Task.FromResult(small), small.Length, 2),
            ("31 MB, forged signature by the targets key ID", async url => TargetsFile(31_000_000, await TargetsKeyIdAsync(stack.Http, url, gun, cancellationToken)), small.Length, 1),
        };

        foreach (var (name, body, size, atOnce) in rows)
        {
            var results = new Dictionary<string, LargeUploadResult>();
            foreach (var target in new[] { stack.TrustServer, stack.Reference })
            {
                var upload = Multipart(await body(target.Url));
                using var http = BenchStack.CreateHttpClient(stack.CaFile);
                http.Timeout = TimeSpan.FromMinutes(5);
                var result = await MeasureOneAsync(http, target, gun, upload, atOnce, cancellationToken);
                results[target.Name] = result;
                progress($"large upload {name,-46} {target.Name,-13} {result.Seconds,6:0.00} s  RSS +{result.PeakGrowthKiB / 1024,5} MiB peak, +{result.RetainedGrowthKiB / 1024,5} MiB after 2 s  ({result.Answers})");
            }

            report.LargeUploads.Add(new LargeUploadRow(name, size, atOnce, results[stack.TrustServer.Name], results[stack.Reference.Name]));
        }
    }

    private static async Task<LargeUploadResult> MeasureOneAsync(HttpClient http, Target target, string gun, byte[] upload, int atOnce, CancellationToken cancellationToken)
    {
        // Let earlier garbage settle so the baseline is the server at rest.
        await Task.Delay(TimeSpan.FromSeconds(2), cancellationToken);
        var baseline = target.Process.ReadMemory()?.RssKiB ?? 0;
        long peak = baseline;
        using var sampling = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var sampler = Task.Run(
            async () =>
            {
                while (!sampling.IsCancellationRequested)
                {
                    peak = Math.Max(peak, target.Process.ReadMemory()?.RssKiB ?? 0);
                    await Task.Delay(5, CancellationToken.None);
                }
            },
            CancellationToken.None);

        var stopwatch = Stopwatch.StartNew();
        var answers = await Task.WhenAll(Enumerable.Range(0, atOnce).Select(_ => PostAsync(http, target.Url, gun, upload, cancellationToken)));
        var seconds = stopwatch.Elapsed.TotalSeconds;
        await Task.Delay(TimeSpan.FromSeconds(2), cancellationToken);
        await sampling.CancelAsync();
        await sampler;
        var retained = (target.Process.ReadMemory()?.RssKiB ?? baseline) - baseline;
        return new LargeUploadResult(seconds, peak - baseline, retained, string.Join(", ", answers.Distinct()));
    }

    private static async Task<string> PostAsync(HttpClient http, string baseUrl, string gun, byte[] upload, CancellationToken cancellationToken)
    {
        using var content = new ByteArrayContent(upload);
        content.Headers.ContentType = MediaTypeHeaderValue.Parse("multipart/form-data; boundary=" + Boundary);
        try
        {
            using var response = await http.PostAsync(new Uri($"{baseUrl}/v2/{gun}/_trust/tuf/"), content, cancellationToken);
            var text = await response.Content.ReadAsStringAsync(cancellationToken);
            var code = text.Contains("\"code\"", StringComparison.Ordinal)
                ? JsonDocument.Parse(text).RootElement.GetProperty("errors")[0].GetProperty("code").GetString()
                : string.Empty;
            return $"{(int)response.StatusCode} {code}".Trim();
        }
        catch (HttpRequestException e)
        {
            return "failed: " + e.Message;
        }
    }

    // The repository's targets key ID from its root: a forged signature "by" it passes every check but the signature itself.
    private static async Task<string> TargetsKeyIdAsync(HttpClient http, string baseUrl, string gun, CancellationToken cancellationToken)
    {
        var root = JsonDocument.Parse(await http.GetByteArrayAsync(new Uri($"{baseUrl}/v2/{gun}/_trust/tuf/root.json"), cancellationToken));
        return root.RootElement.GetProperty("signed").GetProperty("roles").GetProperty("targets").GetProperty("keyids")[0].GetString()!;
    }

    // A targets file of about `size` bytes: many targets with sha256/sha512 hashes, as `notary add` writes them.
    private static byte[] TargetsFile(int size, string? forgedKeyId)
    {
        var text = new StringBuilder(size + 1024);
        text.Append("{\"signed\":{\"_type\":\"Targets\",\"delegations\":{\"keys\":{},\"roles\":[]},\"expires\":\"2030-01-01T00:00:00Z\",\"targets\":{");
        var digest = new byte[64];
        for (var i = 0; text.Length < size - 512; i++)
        {
            RandomNumberGenerator.Fill(digest);
            text.Append(CultureInfo.InvariantCulture, $"{(i == 0 ? string.Empty : ",")}\"release/{i:D8}\":{{\"hashes\":{{\"sha256\":\"{Convert.ToBase64String(digest, 0, 32)}\",\"sha512\":\"{Convert.ToBase64String(digest)}\"}},\"length\":{1000 + i}}}");
        }

        text.Append("},\"version\":1000},\"signatures\":[");
        if (forgedKeyId is not null)
        {
            text.Append(CultureInfo.InvariantCulture, $"{{\"keyid\":\"{forgedKeyId}\",\"method\":\"ecdsa\",\"sig\":\"{Convert.ToBase64String(new byte[64])}\"}}");
        }

        text.Append("]}");
        return Encoding.ASCII.GetBytes(text.ToString());
    }

    private static byte[] Multipart(byte[] targets)
    {
        var head = Encoding.ASCII.GetBytes($"--{Boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"targets\"\r\nContent-Type: application/octet-stream\r\n\r\n");
        var tail = Encoding.ASCII.GetBytes($"\r\n--{Boundary}--\r\n");
        return [.. head, .. targets, .. tail];
    }
}
