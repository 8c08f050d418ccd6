using System.Collections.Concurrent;
using System.Formats.Asn1;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Net.Pkcs11Interop.Common;
using Net.Pkcs11Interop.HighLevelAPI;
using TrustServer.Tuf.Keys;

namespace TrustServer.Signing.Keys.Pkcs11;

/// <summary>A key pair generated in the token: its <c>CKA_ID</c>, <c>CKA_LABEL</c> and the public key as TUF stores it.</summary>
/// <param name="ObjectId">CKA_ID shared by the private and the public object (16 random bytes).</param>
/// <param name="Label">CKA_LABEL of both objects.</param>
/// <param name="Public">DER SPKI (ecdsa) or the raw 32-byte key (ed25519): the same bytes as a JWE key's <c>public</c>.</param>
public sealed record Pkcs11KeyPair(byte[] ObjectId, string Label, byte[] Public);

/// <summary>
/// One PKCS#11 token through Pkcs11Interop: key pairs generated inside it (private halves sensitive and
/// non-extractable), signatures by <c>C_Sign</c>, over a bounded pool of logged-in sessions that is safe for concurrent
/// use. Token errors are recovered without a restart: a failed session is dropped and the operation retried once on a
/// new one; when the module, the slot or the token itself failed (not initialized, device removed, token absent) the
/// module is loaded and logged in afresh first.
/// </summary>
public sealed partial class Pkcs11Token : IDisposable
{
    // PKCS#11 3.0 values Pkcs11Interop 5 has no names for.
    internal const CKK CkkEcEdwards = (CKK)0x40;
    internal const CKM CkmEcEdwardsKeyPairGen = (CKM)0x1055;
    internal const CKM CkmEddsa = (CKM)0x1057;

    // DER OIDs for CKA_EC_PARAMS: prime256v1 (1.2.840.10045.3.1.7) and id-Ed25519 (1.3.101.112).
    private static readonly byte[] P256Parameters = [0x06, 0x08, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07];
    private static readonly byte[] Ed25519Parameters = [0x06, 0x03, 0x2B, 0x65, 0x70];

    // The token or the module is gone: load it and log in afresh.
    private static readonly HashSet<CKR> TokenFailures =
    [
        CKR.CKR_CRYPTOKI_NOT_INITIALIZED, CKR.CKR_DEVICE_REMOVED, CKR.CKR_DEVICE_ERROR, CKR.CKR_TOKEN_NOT_PRESENT,
        CKR.CKR_TOKEN_NOT_RECOGNIZED, CKR.CKR_SLOT_ID_INVALID, CKR.CKR_GENERAL_ERROR,
    ];

    // Only this session (or the handles it looked up) is bad: drop it, try once more on a new one.
    private static readonly HashSet<CKR> SessionFailures =
    [
        CKR.CKR_SESSION_HANDLE_INVALID, CKR.CKR_SESSION_CLOSED, CKR.CKR_USER_NOT_LOGGED_IN, CKR.CKR_OBJECT_HANDLE_INVALID,
        CKR.CKR_KEY_HANDLE_INVALID,
    ];

    private readonly Pkcs11Options _options;
    private readonly ILogger _logger;
    private readonly Pkcs11InteropFactories _factories = new();
    private readonly SemaphoreSlim _turns;
    private readonly Lock _openLock = new();
    private readonly ConcurrentBag<PooledSession> _idle = [];
    private readonly ConcurrentDictionary<string, IObjectHandle> _handles = new(StringComparer.Ordinal);
    private Connection? _connection;
    private int _lastGeneration;
    private bool _disposed;

    static Pkcs11Token() => NativeDl.Resolve();

    /// <summary>Creates the token client; nothing is loaded until <see cref="Open"/> or the first operation.</summary>
    public Pkcs11Token(Pkcs11Options options, ILogger<Pkcs11Token>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        _turns = new SemaphoreSlim(Math.Max(1, options.MaxSessions));
    }

    /// <summary>The token's label as the token reports it (after <see cref="Open"/>).</summary>
    public string? TokenLabel => _connection?.TokenLabel;

    /// <summary>The slot the token is in (after <see cref="Open"/>).</summary>
    public ulong? SlotId => _connection?.Slot.SlotId;

    /// <summary>Whether the token generates and signs with Ed25519 keys (<c>CKM_EC_EDWARDS_KEY_PAIR_GEN</c> and <c>CKM_EDDSA</c>).</summary>
    public bool SupportsEd25519 => Connect().SupportsEd25519;

    /// <summary>
    /// Loads the module, finds the token and logs in, or throws <see cref="Pkcs11TokenException"/> with a one-line
    /// reason (hosts call it at start: a wrong library, token or PIN stops the start).
    /// </summary>
    public void Open() => Connect();

    /// <summary>
    /// Generates a key pair of <paramref name="algorithm"/> (<c>ecdsa</c> = P-256, <c>ed25519</c>) as token objects:
    /// the private key sensitive, non-extractable, sign-only.
    /// </summary>
    /// <exception cref="KeyAlgorithmNotSupportedException">The token lacks the mechanisms for the algorithm.</exception>
    public Task<Pkcs11KeyPair> GenerateKeyPairAsync(string algorithm, CancellationToken cancellationToken = default)
    {
        var (keyType, generator, parameters) = algorithm switch
        {
            KeyType.Ecdsa => (CKK.CKK_EC, CKM.CKM_EC_KEY_PAIR_GEN, P256Parameters),
            KeyType.Ed25519 => (CkkEcEdwards, CkmEcEdwardsKeyPairGen, Ed25519Parameters),
            _ => throw new ArgumentException($"algorithm {algorithm} not supported for create key", nameof(algorithm)),
        };
        if (algorithm == KeyType.Ed25519 && !SupportsEd25519)
        {
            throw new KeyAlgorithmNotSupportedException(algorithm, "the token offers no CKM_EC_EDWARDS_KEY_PAIR_GEN/CKM_EDDSA");
        }

        var objectId = RandomNumberGenerator.GetBytes(16);
        var label = "trustserver-" + Convert.ToHexStringLower(objectId);
        return RunAsync(session =>
        {
            var attributes = _factories.ObjectAttributeFactory;
            List<IObjectAttribute> publicTemplate =
            [
                attributes.Create(CKA.CKA_TOKEN, true),
                attributes.Create(CKA.CKA_PRIVATE, false),
                attributes.Create(CKA.CKA_VERIFY, true),
                attributes.Create(CKA.CKA_EC_PARAMS, parameters),
                attributes.Create(CKA.CKA_ID, objectId),
                attributes.Create(CKA.CKA_LABEL, label),
            ];
            List<IObjectAttribute> privateTemplate =
            [
                attributes.Create(CKA.CKA_TOKEN, true),
                attributes.Create(CKA.CKA_PRIVATE, true),
                attributes.Create(CKA.CKA_SENSITIVE, true),
                attributes.Create(CKA.CKA_EXTRACTABLE, false),
                attributes.Create(CKA.CKA_SIGN, true),
                attributes.Create(CKA.CKA_DECRYPT, false),
                attributes.Create(CKA.CKA_UNWRAP, false),
                attributes.Create(CKA.CKA_DERIVE, false),
                attributes.Create(CKA.CKA_KEY_TYPE, keyType),
                attributes.Create(CKA.CKA_ID, objectId),
                attributes.Create(CKA.CKA_LABEL, label),
            ];
            session.Session.GenerateKeyPair(
                _factories.MechanismFactory.Create(generator), publicTemplate, privateTemplate, out var publicKey, out _);
            var point = session.Session.GetAttributeValue(publicKey, [CKA.CKA_EC_POINT])[0].GetValueAsByteArray();
            return new Pkcs11KeyPair(objectId, label, PublicKeyBytes(algorithm, point));
        }, cancellationToken);
    }

    /// <summary>The public key of the pair with this <c>CKA_ID</c> (as <see cref="Pkcs11KeyPair.Public"/>), or null when the token holds no such public key.</summary>
    public Task<byte[]?> ReadPublicKeyAsync(byte[] objectId, string algorithm, CancellationToken cancellationToken = default) =>
        RunAsync(session =>
        {
            var found = session.Session.FindAllObjects(
            [
                _factories.ObjectAttributeFactory.Create(CKA.CKA_CLASS, CKO.CKO_PUBLIC_KEY),
                _factories.ObjectAttributeFactory.Create(CKA.CKA_ID, objectId),
            ]);
            return found.Count == 0
                ? null
                : PublicKeyBytes(algorithm, session.Session.GetAttributeValue(found[0], [CKA.CKA_EC_POINT])[0].GetValueAsByteArray());
        }, cancellationToken);

    /// <summary>
    /// Signs <paramref name="message"/> with the private key whose <c>CKA_ID</c> is <paramref name="objectId"/>: ecdsa
    /// as <c>CKM_ECDSA</c> over its SHA-256 digest (the raw r‖s PKCS#11 returns, what TUF stores), ed25519 as
    /// <c>CKM_EDDSA</c> over the message. Null when the token holds no such private key.
    /// </summary>
    public Task<byte[]?> SignAsync(byte[] objectId, string algorithm, ReadOnlySpan<byte> message, CancellationToken cancellationToken = default)
    {
        var (mechanism, input) = algorithm switch
        {
            KeyType.Ecdsa => (CKM.CKM_ECDSA, SHA256.HashData(message)),
            KeyType.Ed25519 => (CkmEddsa, message.ToArray()),
            _ => throw new ArgumentException($"cannot sign with {algorithm} keys", nameof(algorithm)),
        };
        var cacheKey = Convert.ToHexString(objectId);
        return RunAsync(session =>
        {
            if (!_handles.TryGetValue(cacheKey, out var handle) || session.Generation != _connection?.Generation)
            {
                var found = session.Session.FindAllObjects(
                [
                    _factories.ObjectAttributeFactory.Create(CKA.CKA_CLASS, CKO.CKO_PRIVATE_KEY),
                    _factories.ObjectAttributeFactory.Create(CKA.CKA_ID, objectId),
                ]);
                if (found.Count == 0)
                {
                    return null;
                }

                handle = _handles[cacheKey] = found[0];
            }

            return session.Session.Sign(_factories.MechanismFactory.Create(mechanism), handle, input);
        }, cancellationToken);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        lock (_openLock)
        {
            _disposed = true;
            Disconnect();
        }

        _turns.Dispose();
    }

    // Runs one operation on a pooled session; after a session or token failure, once more on a new session.
    private async Task<T> RunAsync<T>(Func<PooledSession, T> operation, CancellationToken cancellationToken)
    {
        await _turns.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            for (var attempt = 1; ; attempt++)
            {
                var connection = Connect();
                PooledSession? session = null;
                try
                {
                    session = Rent(connection);
                    var result = operation(session);
                    _idle.Add(session);
                    return result;
                }
                catch (Pkcs11Exception ex) when (TokenFailures.Contains(ex.RV) || SessionFailures.Contains(ex.RV))
                {
                    if (session is not null)
                    {
                        CloseQuietly(session.Session);
                    }

                    // The other idle sessions are most likely as dead (closed together, or the module went away).
                    ResetIf(connection, ex.RV);

                    if (attempt >= 2)
                    {
                        throw new Pkcs11TokenException($"the PKCS#11 token failed and did not recover: {ex.Method} returned {ex.RV}", ex);
                    }
                }
                catch (Pkcs11Exception ex)
                {
                    if (session is not null)
                    {
                        _idle.Add(session);
                    }

                    throw new Pkcs11TokenException($"the PKCS#11 token refused the operation: {ex.Method} returned {ex.RV}", ex);
                }
            }
        }
        finally
        {
            _turns.Release();
        }
    }

    // An idle session of this connection, else a new one, logged in.
    private PooledSession Rent(Connection connection)
    {
        while (_idle.TryTake(out var idle))
        {
            if (idle.Generation == connection.Generation)
            {
                return idle;
            }

            CloseQuietly(idle.Session);
        }

        var session = connection.Slot.OpenSession(SessionType.ReadWrite);
        try
        {
            Login(session, connection.Pin);
        }
        catch
        {
            CloseQuietly(session);
            throw;
        }

        return new PooledSession(session, connection.Generation);
    }

    // Drops every idle session of the failed connection; after a token failure also the connection itself (slot and
    // login are found afresh), and after CKR_CRYPTOKI_NOT_INITIALIZED the module is initialized again.
    private void ResetIf(Connection failed, CKR rv)
    {
        lock (_openLock)
        {
            _handles.Clear();
            if (!ReferenceEquals(_connection, failed))
            {
                return;
            }

            while (_idle.TryTake(out var idle))
            {
                CloseQuietly(idle.Session);
            }

            if (TokenFailures.Contains(rv))
            {
                LogTokenReset(_logger, rv.ToString());
                _connection = null;
                if (rv == CKR.CKR_CRYPTOKI_NOT_INITIALIZED)
                {
                    Modules.Reinitialize(failed.Library);
                }
            }
        }
    }

    private Connection Connect()
    {
        if (Volatile.Read(ref _connection) is { } connection)
        {
            return connection;
        }

        lock (_openLock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return _connection ??= OpenConnection(++_lastGeneration);
        }
    }

    private static void Login(ISession session, string pin)
    {
        try
        {
            session.Login(CKU.CKU_USER, pin);
        }
        catch (Pkcs11Exception ex) when (ex.RV == CKR.CKR_USER_ALREADY_LOGGED_IN)
        {
            // Login state is per application and token: another session already logged in.
        }
    }

    // Under _openLock: closes this client's idle sessions. The module stays loaded and initialized (it is the process's).
    private void Disconnect()
    {
        _connection = null;
        _handles.Clear();
        while (_idle.TryTake(out var idle))
        {
            CloseQuietly(idle.Session);
        }
    }

    private static void CloseQuietly(ISession session)
    {
        try
        {
            session.CloseSession();
        }
        catch (Pkcs11Exception)
        {
            // Already closed, or the token is gone: nothing to release.
        }
    }

    private static string OneLine(string message) => message.ReplaceLineEndings(" ");

    [LoggerMessage(EventId = 3100, Level = LogLevel.Information, Message = "PKCS#11 token {TokenLabel} in slot {SlotId} opened through {Library} (Ed25519 supported: {SupportsEd25519})")]
    private static partial void LogTokenOpened(ILogger logger, string tokenLabel, ulong slotId, string library, bool supportsEd25519);

    [LoggerMessage(EventId = 3101, Level = LogLevel.Warning, Message = "PKCS#11 token failed ({ReturnValue}): closing its sessions and opening it again")]
    private static partial void LogTokenReset(ILogger logger, string returnValue);

    private sealed record PooledSession(ISession Session, int Generation);

    // A class, not a record: a record's ToString would print the PIN.
    private sealed class Connection(IPkcs11Library library, ISlot slot, string tokenLabel, bool supportsEd25519, int generation, string pin)
    {
        public IPkcs11Library Library { get; } = library;

        public ISlot Slot { get; } = slot;

        public string TokenLabel { get; } = tokenLabel;

        public bool SupportsEd25519 { get; } = supportsEd25519;

        public int Generation { get; } = generation;

        public string Pin { get; } = pin;
    }
}
