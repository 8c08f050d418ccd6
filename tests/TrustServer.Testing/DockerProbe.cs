using System.Net.Http;
using System.Net.Sockets;

namespace TrustServer.Testing;

/// <summary>
/// Decides quickly whether a Docker engine answers, so that machines without one fall through to the next
/// PostgreSQL source in well under a second instead of waiting for Testcontainers' own timeouts.
/// </summary>
internal static class DockerProbe
{
    private static readonly TimeSpan PingTimeout = TimeSpan.FromSeconds(3);

    /// <summary>Pings the engine named by DOCKER_HOST, or the usual local sockets.</summary>
    /// <returns>Null when the engine answered <c>/_ping</c>; otherwise why it is considered unreachable.</returns>
    public static async Task<string?> ProbeAsync()
    {
        var dockerHost = Environment.GetEnvironmentVariable("DOCKER_HOST");
        if (!string.IsNullOrEmpty(dockerHost))
        {
            if (dockerHost.StartsWith("unix://", StringComparison.Ordinal))
            {
                return await PingUnixSocketAsync(dockerHost["unix://".Length..]).ConfigureAwait(false);
            }

            if (dockerHost.StartsWith("tcp://", StringComparison.Ordinal) && Uri.TryCreate(dockerHost, UriKind.Absolute, out var uri))
            {
                // TLS-protected engines (DOCKER_TLS_VERIFY) would need client certificates to ping; an open port is
                // taken as a good enough sign and Testcontainers reports real failures.
                return await TryConnectTcpAsync(uri.Host, uri.Port).ConfigureAwait(false);
            }

            return $"DOCKER_HOST={dockerHost} is not a unix:// or tcp:// address this probe understands";
        }

        var runtimeDir = Environment.GetEnvironmentVariable("XDG_RUNTIME_DIR");
        var home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        string?[] candidates =
        [
            "/var/run/docker.sock",
            string.IsNullOrEmpty(runtimeDir) ? null : Path.Combine(runtimeDir, "docker.sock"),
            string.IsNullOrEmpty(home) ? null : Path.Combine(home, ".docker", "run", "docker.sock"),
        ];
        var reasons = new List<string>();
        foreach (var socket in candidates)
        {
            if (socket is null)
            {
                continue;
            }

            var reason = await PingUnixSocketAsync(socket).ConfigureAwait(false);
            if (reason is null)
            {
                Environment.SetEnvironmentVariable("DOCKER_HOST", "unix://" + socket);
                return null;
            }

            reasons.Add(reason);
        }

        return string.Join("; ", reasons);
    }

    private static async Task<string?> PingUnixSocketAsync(string socketPath)
    {
        if (!File.Exists(socketPath))
        {
            return $"no Docker socket at {socketPath}";
        }

        using var handler = new SocketsHttpHandler
        {
            ConnectCallback = async (_, cancellationToken) =>
            {
                var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                try
                {
                    await socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath), cancellationToken).ConfigureAwait(false);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            },
        };
        using var client = new HttpClient(handler) { Timeout = PingTimeout };
        try
        {
            using var response = await client.GetAsync(new Uri("http://docker/_ping")).ConfigureAwait(false);
            return response.IsSuccessStatusCode ? null : $"Docker at {socketPath} answered /_ping with {(int)response.StatusCode}";
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or SocketException or IOException)
        {
            return $"Docker at {socketPath} did not answer /_ping: {ex.Message}";
        }
    }

    private static async Task<string?> TryConnectTcpAsync(string host, int port)
    {
        using var client = new TcpClient();
        using var timeout = new CancellationTokenSource(PingTimeout);
        try
        {
            await client.ConnectAsync(host, port, timeout.Token).ConfigureAwait(false);
            return null;
        }
        catch (Exception ex) when (ex is SocketException or OperationCanceledException)
        {
            return $"Docker at tcp://{host}:{port} is not reachable: {ex.Message}";
        }
    }
}
