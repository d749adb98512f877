using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using Compare.Core;
using Compare.Core.Indexing;
using Compare.Core.Phrases;
using Compare.Server.Hosting;
using Compare.Server.Storage.Local;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Win32.SafeHandles;
using SQLitePCL;

namespace Compare.Server.Storage.Sqlite;

/// <summary>
/// Documents in one SQLite file in WAL mode. Every write is on disk when it returns, except a batch of documents: it is
/// visible when <see cref="Commit"/> returns and on disk when <see cref="EnsureDurableAsync"/>, called after, completes (the log
/// is synced apart from the commit, <see cref="WalDurability"/>), so a process or machine that stops after that loses none of it.
/// Writes go through one connection; reads use pooled connections and see committed data only.
/// </summary>
public sealed class SqliteDocumentRecords : IDocumentRecords
{
    /// <summary>
    /// Version of the tables below; stored in PRAGMA user_version. Version 2 added document_signatures: a version 1
    /// file is upgraded when opened, and a server that reads only version 1 refuses the file afterwards, as it would
    /// write documents without their signatures. Version 3 writes a document's sketch as an empty blob and makes it from
    /// the text when it is read (as the Redis store does): the exact shingle set was half of every row's bytes, written
    /// twice (the log, then the file) on every upsert, for reads that mostly want the text too. A version 2 file is
    /// upgraded by its number alone (its sketches stay readable); a server that reads only version 2 refuses it afterwards,
    /// as it would read the new rows' empty sketches as damaged.
    /// </summary>
    public const int FormatVersion = 3;

    /// <summary>"CMPR": marks the file as Compare's in PRAGMA application_id.</summary>
    public const int ApplicationId = 0x434D5052;

    /// <summary>The database file inside the data directory.</summary>
    public const string FileName = "compare.db";

    // Small columns first and the text last: loading sketches then never walks a text's overflow pages.
    private const string Schema = """
        CREATE TABLE collections(
            key INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            settings TEXT NOT NULL,
            create_time INTEGER NOT NULL);
        CREATE TABLE documents(
            seq INTEGER PRIMARY KEY,
            collection INTEGER NOT NULL,
            id TEXT NOT NULL,
            content_hash INTEGER NOT NULL,
            length INTEGER NOT NULL,
            utf8_length INTEGER NOT NULL,
            shingle_count INTEGER NOT NULL,
            create_time INTEGER NOT NULL,
            update_time INTEGER NOT NULL,
            metadata TEXT NOT NULL,
            sketch BLOB NOT NULL,
            text TEXT NOT NULL,
            UNIQUE(collection, id));
        """;

    // Added to format version 1 without a new version: a file without the table gets it when opened, and a
    // server that predates it never reads it.
    private const string DeduplicateResultsTable = "CREATE TABLE IF NOT EXISTS deduplicate_results(collection INTEGER PRIMARY KEY, result BLOB NOT NULL);";

    // Each document's MinHash signature (little-endian uint32s), its seq and its UTF-8 size, apart from the
    // documents' wide rows: a start scans this table alone, a few hundred bytes per document, and never the rows
    // that hold sketches and texts.
    private const string SignaturesTable =
        "CREATE TABLE document_signatures(collection INTEGER NOT NULL, id TEXT NOT NULL, seq INTEGER NOT NULL, utf8_length INTEGER NOT NULL, " +
        "signature BLOB NOT NULL, PRIMARY KEY(collection, id)) WITHOUT ROWID;";

    // Each document's passage fingerprints (little-endian uint32s), by the documents' seq. Added to format 2 without a new
    // version, as deduplicate_results was: a file without the table gets it when opened, and a document without a row
    // (written before, or by an older server) has its fingerprints made from its text when the passage index is built.
    // A document's passage row goes with its documents row whenever that row goes: deleted, or replaced by INSERT OR REPLACE
    // (whose deletes fire triggers only with recursive_triggers on, set on the writer). A new document costs no lookup.
    private const string PassagesTable = "CREATE TABLE IF NOT EXISTS document_passages(seq INTEGER PRIMARY KEY, fingerprints BLOB NOT NULL);" +
        "CREATE TRIGGER IF NOT EXISTS document_passages_follow AFTER DELETE ON documents BEGIN DELETE FROM document_passages WHERE seq = OLD.seq; END;";

    private const string DocumentColumns = "id, metadata, shingle_count, length, content_hash, create_time, update_time";

    // What a sketch is made from (after DocumentColumns): the text where the stored sketch is empty (format 3), else the stored sketch.
    private const string SketchSourceColumns = "CASE WHEN length(sketch) = 0 THEN text END, CASE WHEN length(sketch) > 0 THEN sketch END, utf8_length, seq";

    // Rows whose sketches are made on every core rather than on the reading thread.
    private const int ParallelSketchRows = 16;

    // Rows, and bytes of text, read before they are sketched: bound what a read of many sketches holds, whatever their number.
    private const int SketchChunkRows = 4096;
    private const long SketchChunkBytes = 64L << 20;

    private const int MaxPooledReaders = 16;

    /// <summary>How much of the file a pooled reader maps (SQLite reads past it with read calls).</summary>
    private const long ReaderMemoryMapBytes = 1L << 30;

    // A new file's page size. A document's row (its text and a few numbers) is most of a 4 KiB page: at that size nearly
    // every insert splits a page, and rows leave a page's tail unused. 16 KiB pages took the storage benchmark's ingest
    // from 17,200-17,500 to 20,200-20,600 documents/s and its file from 5,091 to 4,385 bytes a document. Files made with
    // another page size keep it.
    private const int PageSize = 16384;

    private const string InsertSignature = "INSERT OR REPLACE INTO document_signatures(collection, id, seq, utf8_length, signature) VALUES(?1, ?2, ?3, ?4, ?5)";
    private const string InsertPassages = "INSERT OR REPLACE INTO document_passages(seq, fingerprints) VALUES(?1, ?2)";

    private readonly string _path;
    private readonly string _connectionString;
    private readonly ILogger _logger;
    private readonly ConcurrentBag<PreparedReader> _readers = [];
    private readonly Lock _writeGate = new();
    private readonly SketcherCache _sketchers = new();
    private readonly WalDurability _durability;
    private SqliteConnection? _writer;
    private WalCheckpointer? _checkpointer;
    private FileStream? _directoryLock;

    /// <summary>
    /// Records in <paramref name="directory"/>/compare.db, created on <see cref="Open"/> when missing. A row that cannot be
    /// read is logged to <paramref name="logger"/> and left out of reads over many documents.
    /// </summary>
    public SqliteDocumentRecords(string directory, ILogger<SqliteDocumentRecords>? logger = null)
        : this(directory, logger, RandomAccess.FlushToDisk)
    {
    }

    /// <summary>Records whose log is synced by <paramref name="syncLog"/> (fsync in production): tests stand in a slow or failing disk.</summary>
    internal SqliteDocumentRecords(string directory, ILogger<SqliteDocumentRecords>? logger, Action<SafeFileHandle> syncLog)
    {
        _logger = logger ?? NullLogger<SqliteDocumentRecords>.Instance;
        _path = Path.GetFullPath(Path.Combine(directory, FileName));
        _connectionString = new SqliteConnectionStringBuilder { DataSource = _path, Pooling = true }.ToString();
        _durability = new WalDurability(_path + "-wal", syncLog);
    }

    /// <inheritdoc/>
    public string Description => $"SQLite at {_path}";

    /// <inheritdoc/>
    public void Open()
    {
        Directory.CreateDirectory(Path.GetDirectoryName(_path)!);
        _directoryLock = LockDirectory(_path);
        var writer = new SqliteConnection(_connectionString);
        bool upgrade;
        try
        {
            writer.Open();
            long applicationId = Scalar(writer, "PRAGMA application_id");
            long version = Scalar(writer, "PRAGMA user_version");
            bool empty = Scalar(writer, "SELECT count(*) FROM sqlite_schema") == 0;
            upgrade = !empty && version == 1;
            bool upgradeFrom2 = !empty && version == 2;
            if (!empty && applicationId != ApplicationId)
            {
                throw new StoreFormatException($"{_path} is not a Compare data file; point Storage:Path at another directory.");
            }

            if (!empty && version is not (1 or 2 or FormatVersion))
            {
                throw new StoreFormatException(
                    $"{_path} was written by store format version {version}; this server reads version {FormatVersion}. Run the version that wrote it, or point Storage:Path at a new directory and re-index.");
            }

            if (empty)
            {
                // Before the first write: a file's page size is fixed once it has tables (and in WAL mode).
                Execute(writer, $"PRAGMA page_size={PageSize};");
            }

            // Checkpoints run beside the commits (WalCheckpointer), not inside them.
            Execute(writer, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA recursive_triggers=ON; PRAGMA wal_autocheckpoint=0;");
            if (empty)
            {
                using SqliteTransaction transaction = writer.BeginTransaction();
                Execute(writer, Schema + SignaturesTable + $"PRAGMA application_id={ApplicationId}; PRAGMA user_version={FormatVersion};", transaction);
                transaction.Commit();
            }
            else if (upgradeFrom2)
            {
                Execute(writer, $"PRAGMA user_version={FormatVersion};");
            }

            Execute(writer, DeduplicateResultsTable + PassagesTable);
        }
        catch (SqliteException e)
        {
            writer.Dispose();
            Unlock();
            throw new StoreFormatException($"{_path} cannot be opened as a Compare data file: {e.Message}", e);
        }
        catch
        {
            writer.Dispose();
            Unlock();
            throw;
        }

        _writer = writer;
        _checkpointer = new WalCheckpointer(_connectionString, _logger);
        if (upgrade)
        {
            UpgradeFromVersion1();
        }

        // The schema, and any upgrade, on disk before the first call.
        _durability.Committed();
        _durability.EnsureDurableAsync().GetAwaiter().GetResult();
    }

    /// <inheritdoc/>
    public IReadOnlyList<CollectionRecord> ListCollections()
    {
        using SqliteConnection connection = OpenReader();
        using SqliteCommand command = connection.CreateCommand();
        command.CommandText = "SELECT key, name, settings, create_time FROM collections ORDER BY key";
        using SqliteDataReader reader = command.ExecuteReader();
        var collections = new List<CollectionRecord>();
        while (reader.Read())
        {
            collections.Add(new CollectionRecord(reader.GetInt64(0), reader.GetString(1), CollectionSettingsCodec.Decode(reader.GetString(2)),
                DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(3))));
        }

        return collections;
    }

    /// <inheritdoc/>
    public CollectionRecord CreateCollection(string name, CollectionSettings settings, DateTimeOffset createTime) => Write(() =>
    {
        using SqliteCommand command = Writer.CreateCommand();
        command.CommandText = "INSERT INTO collections(name, settings, create_time) VALUES($name, $settings, $time) RETURNING key";
        command.Parameters.AddWithValue("$name", name);
        command.Parameters.AddWithValue("$settings", CollectionSettingsCodec.Encode(settings));
        command.Parameters.AddWithValue("$time", createTime.ToUnixTimeMilliseconds());
        long key = (long)command.ExecuteScalar()!;
        // Stored to the millisecond, so answer what a reload would.
        return new CollectionRecord(key, name, settings, DateTimeOffset.FromUnixTimeMilliseconds(createTime.ToUnixTimeMilliseconds()));
    });

    /// <inheritdoc/>
    public void DeleteCollection(long key) => Write(() =>
    {
        using SqliteTransaction transaction = Writer.BeginTransaction();
        using SqliteCommand command = Writer.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "DELETE FROM document_signatures WHERE collection = $key; " +
            "DELETE FROM documents WHERE collection = $key; DELETE FROM deduplicate_results WHERE collection = $key; DELETE FROM collections WHERE key = $key;";
        command.Parameters.AddWithValue("$key", key);
        command.ExecuteNonQuery();
        transaction.Commit();
    });

    /// <inheritdoc/>
    public void SaveDeduplicateResult(long key, byte[] result) => Write(() =>
    {
        using SqliteCommand command = Writer.CreateCommand();
        // Only for a collection that still exists: a result must not outlive its collection's key.
        command.CommandText = "INSERT OR REPLACE INTO deduplicate_results(collection, result) SELECT key, $result FROM collections WHERE key = $key";
        command.Parameters.AddWithValue("$key", key);
        command.Parameters.AddWithValue("$result", result);
        command.ExecuteNonQuery();
    });

    /// <inheritdoc/>
    public byte[]? LoadDeduplicateResult(long key)
    {
        using SqliteConnection connection = OpenReader();
        using SqliteCommand command = connection.CreateCommand();
        command.CommandText = "SELECT result FROM deduplicate_results WHERE collection = $key";
        command.Parameters.AddWithValue("$key", key);
        return command.ExecuteScalar() as byte[];
    }

    /// <inheritdoc/>
    public long CountDocuments(long key)
    {
        using SqliteConnection connection = OpenReader();
        using SqliteCommand command = connection.CreateCommand();
        command.CommandText = "SELECT count(*) FROM documents WHERE collection = $key";
        command.Parameters.AddWithValue("$key", key);
        return (long)command.ExecuteScalar()!;
    }

    /// <inheritdoc/>
    public void LoadSketches(long key, SketchParameters parameters, Action<string, DocumentSketch, int> onDocument, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(onDocument);
        using SqliteConnection connection = OpenReader();
        ForEachSketch(connection, null, key, parameters, (source, sketch) => onDocument(source.Id, sketch, source.Utf8Length), cancellationToken);
    }

    /// <summary>Every readable sketch of a collection, in the order of writes.</summary>
    private void ForEachSketch(SqliteConnection connection, SqliteTransaction? transaction, long key, SketchParameters parameters,
        Action<SketchSource, DocumentSketch> onDocument, CancellationToken cancellationToken)
    {
        using SqliteCommand command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = $"SELECT {DocumentColumns}, {SketchSourceColumns} FROM documents WHERE collection = $key ORDER BY seq";
        command.Parameters.AddWithValue("$key", key);
        using SqliteDataReader reader = command.ExecuteReader();
        ForEachSketch(Rows(reader), key, parameters, onDocument, cancellationToken);

        static IEnumerable<SketchSource> Rows(SqliteDataReader reader)
        {
            while (reader.Read())
            {
                yield return ReadSketchSource(reader);
            }
        }
    }

    /// <summary>The readable sketches of <paramref name="rows"/>, in order: a chunk of rows read, then sketched, at a time.</summary>
    private void ForEachSketch(IEnumerable<SketchSource> rows, long key, SketchParameters parameters, Action<SketchSource, DocumentSketch> onDocument,
        CancellationToken cancellationToken)
    {
        var chunk = new List<SketchSource>(SketchChunkRows);
        using IEnumerator<SketchSource> next = rows.GetEnumerator();
        bool more = true;
        while (more)
        {
            chunk.Clear();
            long bytes = 0;
            while (chunk.Count < SketchChunkRows && bytes < SketchChunkBytes && (more = next.MoveNext()))
            {
                cancellationToken.ThrowIfCancellationRequested();
                chunk.Add(next.Current);
                bytes += next.Current.Utf8Length;
            }

            DocumentSketch?[] sketches = Sketches(key, parameters, chunk, cancellationToken);
            for (int i = 0; i < chunk.Count; i++)
            {
                if (sketches[i] is { } sketch)
                {
                    onDocument(chunk[i], sketch);
                }
            }
        }
    }

    /// <inheritdoc/>
    // A restart runs this over every document once: optimised from the first call, where tiering would promote it only after the load.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void LoadSignatures(long key, SketchParameters parameters, StoredSignatureAction onDocument, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        ArgumentNullException.ThrowIfNull(onDocument);
        using var warmed = new CancellationTokenSource();
        Task warming = Task.Factory.StartNew(() => WarmSignatures(key, evenWhenCached: false, warmed.Token), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        try
        {
            ReadSignatures(key, parameters, onDocument, cancellationToken);
        }
        finally
        {
            warmed.Cancel();
            warming.ContinueWith(static _ => { }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default).Wait(CancellationToken.None);
        }
    }

    // The number of connections that read ahead of a restart's scan, and the ranges of ids they share out.
    private const int Warmers = 8;
    private const int WarmedRanges = 32;
    private static readonly TimeSpan WarmCacheSamplingTime = TimeSpan.FromMilliseconds(8);

    /// <summary>
    /// Pulls the signature table's pages into the OS's cache ahead of the restart's scan, several ranges of ids at once.
    /// The table's pages lie all over the file (rows go in by id, between the documents' wide rows), so a scan from a cold
    /// cache waits for one 4 KB read after another: 1M documents took 6.6 s to read cold on this VM against 0.5 s warm,
    /// while eight reads at a time go about three times as fast. The ranges' bounds are the ids of documents sampled by
    /// seq (the documents' rowid, so each sample is a seek), which split the table about evenly whatever ids look like.
    /// Only the cache is warmed: the scan itself reads every row as before, so nothing here can change what is loaded.
    /// </summary>
    /// <returns>The ranges' lower bounds, in order, and how many rows the warmers went over (none when the file was cached).</returns>
    internal (string[] Bounds, long Rows) WarmSignatures(long key, bool evenWhenCached, CancellationToken cancellationToken)
    {
        string[] bounds;
        using (SqliteConnection connection = OpenReader())
        {
            using CancellationTokenRegistration stop = cancellationToken.Register(() => raw.sqlite3_interrupt(connection.Handle));
            (List<string> sampled, TimeSpan seeking) = SampleIds(connection, key, WarmedRanges * 4);
            bounds = [.. sampled.Order(StringComparer.Ordinal).Where((_, i) => i % 4 == 3).Distinct()];
            // Seeks answered from the cache (a few microseconds each, against tens from the disk) say the file is cached:
            // warming would only take the second core from the scan.
            if (seeking < WarmCacheSamplingTime && !evenWhenCached)
            {
                return (bounds, 0);
            }
        }

        // The scan reads the first range itself; the others are warmed in order, so the scan finds them ready. Threads of their
        // own: they mostly wait on the disk, and the pool would add them one at a time.
        int next = 0;
        long rows = 0;
        Task[] warmers = [.. Enumerable.Range(0, Warmers).Select(_ => Task.Factory.StartNew(() =>
        {
            using SqliteConnection connection = OpenReader();
            using CancellationTokenRegistration stop = cancellationToken.Register(() => raw.sqlite3_interrupt(connection.Handle));
            try
            {
                for (int range; !cancellationToken.IsCancellationRequested && (range = Interlocked.Increment(ref next)) <= bounds.Length;)
                {
                    // Both bounds in the statement itself: an OR around the upper one would stop SQLite from ending the range there.
                    using SqliteCommand count = connection.CreateCommand();
                    count.CommandText = "SELECT count(*) FROM document_signatures WHERE collection = $key AND id >= $from" + (range < bounds.Length ? " AND id < $to" : "");
                    count.Parameters.AddWithValue("$key", key);
                    count.Parameters.AddWithValue("$from", bounds[range - 1]);
                    count.Parameters.AddWithValue("$to", range < bounds.Length ? bounds[range] : string.Empty);
                    Interlocked.Add(ref rows, (long)count.ExecuteScalar()!);
                }
            }
            catch (SqliteException) when (cancellationToken.IsCancellationRequested)
            {
            }
            finally
            {
                // What this connection read is in the OS's cache now; its own page cache would only stay in the pool.
                Execute(connection, "PRAGMA shrink_memory");
            }
        }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default))];
        Task.WaitAll(warmers, CancellationToken.None);
        return (bounds, rows);
    }

    /// <summary>
    /// The ids of up to <paramref name="samples"/> documents of the collection, found at evenly spaced seqs, and the time the
    /// seeks after the first took.
    /// </summary>
    private static (List<string> Ids, TimeSpan Seeking) SampleIds(SqliteConnection connection, long key, int samples)
    {
        // Apart: SQLite finds a lone min() or max() of the rowid at one end of the tree, but scans the table for both together.
        using SqliteCommand ends = connection.CreateCommand();
        ends.CommandText = "SELECT min(seq) FROM documents";
        object? lowest = ends.ExecuteScalar();
        ends.CommandText = "SELECT max(seq) FROM documents";
        if (lowest is not long first || ends.ExecuteScalar() is not long last)
        {
            return ([], TimeSpan.Zero);
        }

        using SqliteCommand sample = connection.CreateCommand();
        sample.CommandText = "SELECT collection, id FROM documents WHERE seq >= $seq ORDER BY seq LIMIT 1";
        SqliteParameter seq = sample.Parameters.Add("$seq", SqliteType.Integer);
        var ids = new List<string>(samples);
        long started = 0;
        for (int i = 0; i < samples; i++)
        {
            started = i == 1 ? Stopwatch.GetTimestamp() : started;
            seq.Value = first + ((last - first) * i / samples);
            using SqliteDataReader reader = sample.ExecuteReader();
            if (reader.Read() && reader.GetInt64(0) == key)
            {
                ids.Add(reader.GetString(1));
            }
        }

        return (ids, Stopwatch.GetElapsedTime(started));
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void ReadSignatures(long key, SketchParameters parameters, StoredSignatureAction onDocument, CancellationToken cancellationToken)
    {
        using SqliteConnection connection = OpenReader();
        // A restart reads every row of this table: through SQLite's own statement API (the connection's public Handle)
        // each row costs a step and spans over SQLite's buffers, about a third of what SqliteDataReader's typed getters cost.
        sqlite3 db = connection.Handle!;
        Check(raw.sqlite3_prepare_v2(db, "SELECT id, seq, utf8_length, signature FROM document_signatures WHERE collection = ?1", out sqlite3_stmt statement), db);
        using (statement)
        {
            Check(raw.sqlite3_bind_int64(statement, 1, key), db);
            int signatureBytes = parameters.NumPermutations * sizeof(uint);
            uint[]? bigEndianCopy = BitConverter.IsLittleEndian ? null : new uint[parameters.NumPermutations];
            int result;
            for (long row = 0; (result = raw.sqlite3_step(statement)) == raw.SQLITE_ROW; row++)
            {
                if ((row & 4095) == 0)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                }

                string id = Encoding.UTF8.GetString(raw.sqlite3_column_blob(statement, 0));
                ReadOnlySpan<byte> bytes = raw.sqlite3_column_blob(statement, 3);
                if (bytes.Length != signatureBytes)
                {
                    // The same rule as GetIndexedSignatures: a damaged row is indexed from the document's sketch, or not at all.
                    if (SignatureFromSketch(key, id, parameters) is { } recovered)
                    {
                        onDocument(id, recovered, raw.sqlite3_column_int(statement, 2), raw.sqlite3_column_int64(statement, 1));
                    }

                    continue;
                }

                ReadOnlySpan<uint> signature = bigEndianCopy is null ? MemoryMarshal.Cast<byte, uint>(bytes) : DecodeLittleEndian(bytes, bigEndianCopy);
                onDocument(id, signature, raw.sqlite3_column_int(statement, 2), raw.sqlite3_column_int64(statement, 1));
            }

            Check(result == raw.SQLITE_DONE ? raw.SQLITE_OK : result, db);
        }
    }

    /// <inheritdoc/>
    public void LoadPassages(long key, SketchParameters parameters, PassageVisitor onDocument, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        ArgumentNullException.ThrowIfNull(onDocument);
        var made = new List<(long Seq, uint[] Fingerprints)>();
        using (SqliteConnection connection = OpenReader())
        using (SqliteCommand command = connection.CreateCommand())
        {
            command.CommandText = "SELECT d.seq, d.id, p.fingerprints, CASE WHEN p.fingerprints IS NULL THEN d.text END " +
                "FROM documents d LEFT JOIN document_passages p ON p.seq = d.seq WHERE d.collection = $key";
            command.Parameters.AddWithValue("$key", key);
            using SqliteDataReader reader = command.ExecuteReader();
            while (reader.Read())
            {
                cancellationToken.ThrowIfCancellationRequested();
                string id = reader.GetString(1);
                if (reader.IsDBNull(2))
                {
                    uint[] fingerprints = PassageFingerprints.Of(reader.GetString(3), parameters.Normalization);
                    made.Add((reader.GetInt64(0), fingerprints));
                    onDocument(id, fingerprints);
                }
                else
                {
                    byte[] bytes = (byte[])reader.GetValue(2);
                    onDocument(id, DecodeLittleEndian(bytes, new uint[bytes.Length / sizeof(uint)]));
                }
            }
        }

        if (made.Count > 0)
        {
            // Kept, so the next build reads them: one transaction, after the read.
            Write(() =>
            {
                using SqliteTransaction transaction = Writer.BeginTransaction();
                using (var insert = new SqliteStatement(Writer, InsertPassages))
                {
                    foreach ((long Seq, uint[] Fingerprints) m in made)
                    {
                        WritePassages(insert, m.Seq, m.Fingerprints);
                    }
                }

                transaction.Commit();
            });
        }
    }

    /// <inheritdoc/>
    public Dictionary<string, DocumentSketch> GetSketches(long key, SketchParameters parameters, IEnumerable<string> ids)
    {
        ArgumentNullException.ThrowIfNull(ids);
        var found = new Dictionary<string, DocumentSketch>(StringComparer.Ordinal);
        WithReader(reader => ForEachSketch(Rows(reader), key, parameters, (source, sketch) => found[source.Id] = sketch, CancellationToken.None));
        return found;

        IEnumerable<SketchSource> Rows(PreparedReader reader)
        {
            foreach (string id in ids)
            {
                using SqliteDataReader row = reader.SketchSource(key, id);
                if (row.Read())
                {
                    yield return ReadSketchSource(row);
                }
            }
        }
    }

    /// <inheritdoc/>
    public Dictionary<string, uint[]> GetIndexedSignatures(long key, SketchParameters parameters, IEnumerable<string> ids)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        ArgumentNullException.ThrowIfNull(ids);
        var found = new Dictionary<string, uint[]>(StringComparer.Ordinal);
        using SqliteConnection connection = OpenReader();
        using SqliteCommand command = connection.CreateCommand();
        command.CommandText = "SELECT signature FROM document_signatures WHERE collection = $key AND id = $id";
        command.Parameters.AddWithValue("$key", key);
        SqliteParameter id = command.Parameters.Add("$id", SqliteType.Text);
        foreach (string each in ids)
        {
            id.Value = each;
            if (command.ExecuteScalar() is not byte[] bytes)
            {
                continue;
            }

            uint[]? signature = bytes.Length == parameters.NumPermutations * sizeof(uint) ? DecodeLittleEndian(bytes, new uint[parameters.NumPermutations])
                : SignatureFromSketch(key, each, parameters);
            if (signature is not null)
            {
                found[each] = signature;
            }
        }

        return found;
    }

    /// <inheritdoc/>
    public Dictionary<string, DocumentVersion> Find(long key, IEnumerable<string> ids)
    {
        ArgumentNullException.ThrowIfNull(ids);
        var found = new Dictionary<string, DocumentVersion>(StringComparer.Ordinal);
        string[] asked = [.. ids];
        if (asked.Length == 0)
        {
            return found;
        }

        using SqliteConnection connection = OpenReader();
        using SqliteCommand command = connection.CreateCommand();
        // One statement for a whole batch: a statement an id cost ~15 µs each, on the writer's path of every upsert.
        command.CommandText = "SELECT id, content_hash, utf8_length, create_time FROM documents WHERE collection = $key AND id IN (SELECT value FROM json_each($ids))";
        command.Parameters.AddWithValue("$key", key);
        command.Parameters.AddWithValue("$ids", JsonSerializer.Serialize(asked, SettingsJson.Default.StringArray));
        using SqliteDataReader reader = command.ExecuteReader();
        while (reader.Read())
        {
            found[reader.GetString(0)] = new DocumentVersion(unchecked((ulong)reader.GetInt64(1)), reader.GetInt32(2), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(3)));
        }

        return found;
    }

    /// <inheritdoc/>
    public void Commit(CollectionRecord collection, IReadOnlyList<DocumentWrite> writes, IReadOnlyList<string> deletes)
    {
        ArgumentNullException.ThrowIfNull(collection);
        long key = collection.Key;
        ArgumentNullException.ThrowIfNull(writes);
        ArgumentNullException.ThrowIfNull(deletes);
        Write(() =>
        {
            using SqliteTransaction transaction = Writer.BeginTransaction();
            if (writes.Count > 0)
            {
                InsertDocuments(key, writes);
            }

            if (deletes.Count > 0)
            {
                using SqliteCommand delete = Writer.CreateCommand();
                delete.Transaction = transaction;
                delete.CommandText = "DELETE FROM document_signatures WHERE collection = $key AND id = $id; DELETE FROM documents WHERE collection = $key AND id = $id";
                delete.Parameters.AddWithValue("$key", key);
                SqliteParameter id = delete.Parameters.Add("$id", SqliteType.Text);
                foreach (string each in deletes)
                {
                    id.Value = each;
                    delete.ExecuteNonQuery();
                }
            }

            transaction.Commit();
        }, durable: false);
    }

    /// <inheritdoc/>
    public Task EnsureDurableAsync() => _durability.EnsureDurableAsync();

    /// <inheritdoc/>
    public string? Failure => _durability.Failure;

    /// <inheritdoc/>
    public StoredDocument? GetDocument(long key, string id, bool includeText)
    {
        using SqliteConnection connection = OpenReader();
        using SqliteCommand command = connection.CreateCommand();
        command.CommandText = $"SELECT {DocumentColumns}{(includeText ? ", text" : string.Empty)} FROM documents WHERE collection = $key AND id = $id";
        command.Parameters.AddWithValue("$key", key);
        command.Parameters.AddWithValue("$id", id);
        using SqliteDataReader reader = command.ExecuteReader();
        return reader.Read() ? ReadDocument(reader, includeText) : null;
    }

    /// <inheritdoc/>
    public IReadOnlyList<StoredDocument> GetDocuments(long key, IReadOnlyList<string> ids)
    {
        ArgumentNullException.ThrowIfNull(ids);
        if (ids.Count == 0)
        {
            return [];
        }

        var found = new Dictionary<string, StoredDocument>(ids.Count, StringComparer.Ordinal);
        WithReader(prepared =>
        {
            using SqliteDataReader reader = prepared.Documents(key, JsonSerializer.Serialize(ids as string[] ?? [.. ids], SettingsJson.Default.StringArray));
            while (reader.Read())
            {
                try
                {
                    StoredDocument document = ReadDocument(reader, includeText: true);
                    found[document.Id] = document;
                }
                catch (DocumentDamagedException e)
                {
                    Log.DocumentDamaged(_logger, e.Id, key, Description, e.Reason);
                }
            }
        });

        return [.. ids.Select(found.GetValueOrDefault).OfType<StoredDocument>()];
    }

    /// <inheritdoc/>
    public (IReadOnlyList<StoredDocument> Documents, bool HasMore) ListDocuments(long key, string? afterId, int limit, bool includeText)
    {
        using SqliteConnection connection = OpenReader();
        using SqliteCommand command = connection.CreateCommand();
        // SQLite's BINARY collation compares UTF-8 bytes: code point order.
        command.CommandText = $"SELECT {DocumentColumns}{(includeText ? ", text" : string.Empty)} FROM documents " +
            $"WHERE collection = $key{(afterId is null ? string.Empty : " AND id > $after")} ORDER BY id LIMIT $limit";
        command.Parameters.AddWithValue("$key", key);
        command.Parameters.AddWithValue("$limit", limit + 1);
        if (afterId is not null)
        {
            command.Parameters.AddWithValue("$after", afterId);
        }

        using SqliteDataReader reader = command.ExecuteReader();
        var page = new List<StoredDocument>(Math.Min(limit, 1024));
        while (reader.Read())
        {
            if (page.Count == limit)
            {
                return (page, true);
            }

            page.Add(ReadDocument(reader, includeText));
        }

        return (page, false);
    }

    /// <summary>Copies the write-ahead log into the database file and truncates it.</summary>
    public void Flush()
    {
        lock (_writeGate)
        {
            if (_writer is not null)
            {
                WalCheckpointer.Checkpoint(_writer, "TRUNCATE");
            }
        }
    }

    /// <summary>Closes the writer and empties the connection pool, releasing the file.</summary>
    public void Dispose()
    {
        _checkpointer?.Dispose();
        _durability.Dispose();
        lock (_writeGate)
        {
            _writer?.Dispose();
            _writer = null;
        }

        while (_readers.TryTake(out PreparedReader? reader))
        {
            reader.Dispose();
        }

        SqliteConnection.ClearAllPools();
        Unlock();
    }

    /// <summary>
    /// Holds compare.db.lock exclusively (flock on Linux) while the records are open. Two servers over one file would
    /// each index only their own writes in memory and answer differently; the second is refused at its start instead.
    /// The lock goes with the process, so a killed server leaves nothing to clean up.
    /// </summary>
    private static FileStream LockDirectory(string path)
    {
        try
        {
            return new FileStream(path + ".lock", FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException e) when (e is not FileNotFoundException and not DirectoryNotFoundException)
        {
            throw new DataDirectoryInUseException(
                $"{path} is in use by another Compare server. Stop it, or point Storage__Path (--Storage:Path=DIR) at another directory.", e);
        }
    }

    private void Unlock()
    {
        _directoryLock?.Dispose();
        _directoryLock = null;
    }

    private SqliteConnection Writer => _writer ?? throw new InvalidOperationException("The records are not open.");

    private void InsertDocuments(long key, IReadOnlyList<DocumentWrite> writes)
    {
        // A new id is inserted; a stored one is deleted (its trigger takes its passage row) and inserted again, so an updated
        // document comes after every other in seq order: reloads keep the index's insertion order, in which an update counts
        // as a new insertion.
        // Neither INSERT OR REPLACE (which may fire that trigger) nor RETURNING: either makes SQLite keep a statement journal,
        // a copy of each page the statement changes (16 KiB), and those copies were four fifths of the bytes an ingest wrote.
        // The sketch is written empty: it is made from the text when read (format 3).
        using var document = new SqliteStatement(Writer, """
            INSERT INTO documents(collection, id, content_hash, length, utf8_length, shingle_count, create_time, update_time, metadata, sketch, text)
            VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, X'', ?10) ON CONFLICT(collection, id) DO NOTHING
            """);
        using var stored = new SqliteStatement(Writer, "DELETE FROM documents WHERE collection = ?1 AND id = ?2");
        using var signature = new SqliteStatement(Writer, InsertSignature);
        using var passages = new SqliteStatement(Writer, InsertPassages);
        foreach (DocumentWrite w in writes)
        {
            DocumentContent d = w.Content;
            document.Bind(1, key);
            document.Bind(2, d.Id);
            document.Bind(3, unchecked((long)d.ContentHash));
            document.Bind(4, d.Length);
            document.Bind(5, d.Utf8Length);
            document.Bind(6, w.Sketch.Shingles.Length);
            document.Bind(7, w.CreateTime.ToUnixTimeMilliseconds());
            document.Bind(8, w.UpdateTime.ToUnixTimeMilliseconds());
            document.Bind(9, d.Metadata.Count == 0 ? "{}" : JsonSerializer.Serialize(d.Metadata.ToDictionary(StringComparer.Ordinal), SettingsJson.Default.DictionaryStringString));
            document.Bind(10, d.Text);
            long seq = document.Insert();
            if (seq == 0)
            {
                // Stored already: the bindings stay for the second try.
                stored.Bind(1, key);
                stored.Bind(2, d.Id);
                stored.Run();
                seq = document.Insert();
            }

            WriteSignature(signature, key, d.Id, seq, d.Utf8Length, w.Sketch.Signature);
            WritePassages(passages, seq, w.Passages);
        }
    }

    private static void WriteSignature(SqliteStatement insert, long key, string id, long seq, int utf8Length, ReadOnlySpan<uint> signature)
    {
        insert.Bind(1, key);
        insert.Bind(2, id);
        insert.Bind(3, seq);
        insert.Bind(4, utf8Length);
        insert.Bind(5, signature);
        insert.Run();
    }

    private static void WritePassages(SqliteStatement insert, long seq, ReadOnlySpan<uint> fingerprints)
    {
        insert.Bind(1, seq);
        insert.Bind(2, fingerprints);
        insert.Run();
    }

    /// <summary>
    /// Version 1 to 3: every document's signature row, from its sketch, and the new version, in one transaction (a
    /// crash leaves a version 1 file to upgrade again). A table a pre-release build kept alongside is rebuilt.
    /// </summary>
    private void UpgradeFromVersion1()
    {
        var settings = ListCollections().ToDictionary(c => c.Key, c => c.Settings.Parameters);
        lock (_writeGate)
        {
            using SqliteTransaction transaction = Writer.BeginTransaction();
            Execute(Writer, "DROP TABLE IF EXISTS document_signatures;" + SignaturesTable, transaction);
            using var write = new SqliteStatement(Writer, InsertSignature);
            foreach ((long key, SketchParameters parameters) in settings)
            {
                // A sketch that cannot be read gets no signature row: its document is left out of the index until it is upserted again.
                ForEachSketch(Writer, transaction, key, parameters,
                    (source, sketch) => WriteSignature(write, key, source.Id, source.Seq, source.Utf8Length, sketch.Signature), CancellationToken.None);
            }

            Execute(Writer, $"PRAGMA user_version={FormatVersion};", transaction);
            transaction.Commit();
        }
    }

    /// <summary>The sketch, or null (logged) when its bytes cannot be read: one damaged row never fails a read of many.</summary>
    private DocumentSketch? TryDecode(long key, string id, ReadOnlySpan<byte> sketch, SketchParameters parameters)
    {
        try
        {
            return SketchCodec.Decode(sketch, parameters);
        }
        catch (FormatException e)
        {
            Log.DocumentDamaged(_logger, id, key, Description, $"its sketch cannot be read ({e.Message})");
            return null;
        }
    }

    /// <summary>A row read with <see cref="DocumentColumns"/> and <see cref="SketchSourceColumns"/>.</summary>
    private static SketchSource ReadSketchSource(SqliteDataReader reader)
    {
        var source = new SketchSource(reader.GetString(0), reader.GetInt64(10), reader.GetInt32(9), null, null);
        if (!reader.IsDBNull(8))
        {
            return source with { Stored = (byte[])reader.GetValue(8) };
        }

        try
        {
            return source with { Document = ReadDocument(reader, includeText: true) };
        }
        catch (DocumentDamagedException)
        {
            return source;
        }
    }

    /// <summary>The sketches of <paramref name="rows"/>, in order; null for a row that is damaged (logged).</summary>
    private DocumentSketch?[] Sketches(long key, SketchParameters parameters, List<SketchSource> rows, CancellationToken cancellationToken)
    {
        var sketches = new DocumentSketch?[rows.Count];
        DocumentSketcher sketcher = _sketchers.For(parameters);
        if (rows.Count < ParallelSketchRows)
        {
            for (int i = 0; i < rows.Count; i++)
            {
                sketches[i] = Sketch(rows[i]);
            }
        }
        else
        {
            Parallel.For(0, rows.Count, new ParallelOptions { CancellationToken = cancellationToken }, i => sketches[i] = Sketch(rows[i]));
        }

        return sketches;

        DocumentSketch? Sketch(SketchSource row)
        {
            if (row.Stored is { } bytes)
            {
                return TryDecode(key, row.Id, bytes, parameters);
            }

            // The text a sketch is made from is checked against its hash first, as every read of a text is.
            if (row.Document is { } document && DocumentHash.IsWhole(document))
            {
                return sketcher.Sketch(document.Text!);
            }

            Log.DocumentDamaged(_logger, row.Id, key, Description, "its text or metadata no longer match the content hash it was stored with");
            return null;
        }
    }

    /// <summary>For a document whose signature row is damaged: the signature of its sketch, or null when that is damaged too.</summary>
    private uint[]? SignatureFromSketch(long key, string id, SketchParameters parameters)
    {
        Log.DocumentDamaged(_logger, id, key, Description, "its signature row has the wrong length; it is indexed from its sketch when that can be read");
        return GetSketches(key, parameters, [id]).GetValueOrDefault(id)?.Signature;
    }

    // Signatures and passage fingerprints are stored as little-endian uint32s on every machine (SqliteStatement writes them).
    private static uint[] DecodeLittleEndian(ReadOnlySpan<byte> bytes, uint[] values)
    {
        for (int i = 0; i < values.Length; i++)
        {
            values[i] = BinaryPrimitives.ReadUInt32LittleEndian(bytes[(i * sizeof(uint))..]);
        }

        return values;
    }

    // SQLITE_FULL: the disk (or a quota) had no room for the journal or the file, and nothing of the transaction stayed.
    private const int SqliteFull = 13;

    /// <summary>
    /// Runs a write under the writer's lock, then asks for a checkpoint (copying the log first when checkpoints beside the
    /// writes let it grow too long), then syncs the log outside the lock unless <paramref name="durable"/> is false (a
    /// batch of documents, whose caller syncs once the collection's lock is released); a full disk is the store's
    /// <see cref="StoreFullException"/>, naming no path; after a failed sync every write is refused.
    /// </summary>
    private T Write<T>(Func<T> write, bool durable = true)
    {
        T result;
        lock (_writeGate)
        {
            _durability.ThrowIfFailed();
            try
            {
                _checkpointer?.CheckpointIfLogTooLong(Writer);
                result = write();
                _durability.Committed();
                _checkpointer?.Request();
            }
            catch (SqliteException e) when (e.SqliteErrorCode == SqliteFull)
            {
                throw new StoreFullException("The disk under the store is full: nothing of this write was stored. Free space, then retry.", e);
            }
        }

        // Outside the lock: the next write runs while the disk syncs this one (on the sync thread, not the pool's).
        if (durable)
        {
            _durability.EnsureDurableAsync().GetAwaiter().GetResult();
        }

        return result;
    }

    private void Write(Action write, bool durable = true) => Write(() =>
    {
        write();
        return 0;
    }, durable);

    private static void Check(int result, sqlite3 db) => SqliteException.ThrowExceptionForRC(result, db);

    private SqliteConnection OpenReader()
    {
        var connection = new SqliteConnection(_connectionString);
        connection.Open();
        return connection;
    }

    private static StoredDocument ReadDocument(SqliteDataReader reader, bool includeText)
    {
        string id = reader.GetString(0);
        Dictionary<string, string> metadata;
        try
        {
            metadata = JsonSerializer.Deserialize(reader.GetString(1), SettingsJson.Default.DictionaryStringString) ?? [];
        }
        catch (JsonException)
        {
            throw new DocumentDamagedException(id, "its metadata cannot be read");
        }

        return new(id, includeText ? reader.GetString(7) : null, metadata, reader.GetInt32(2), reader.GetInt32(3), unchecked((ulong)reader.GetInt64(4)),
            DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(5)), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(6)));
    }

    private static long Scalar(SqliteConnection connection, string sql)
    {
        using SqliteCommand command = connection.CreateCommand();
        command.CommandText = sql;
        return Convert.ToInt64(command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
    }

    private static void Execute(SqliteConnection connection, string sql, SqliteTransaction? transaction = null)
    {
        using SqliteCommand command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    /// <summary>A reader connection with its prepared "sketch by id" statement, reused across queries.</summary>
    /// <summary>
    /// Runs <paramref name="read"/> with a pooled reader: a handful serve every query, each keeping its connection and its
    /// prepared statements (preparing one cost about as much as reading a document's row).
    /// </summary>
    private void WithReader(Action<PreparedReader> read)
    {
        PreparedReader reader = _readers.TryTake(out PreparedReader? pooled) ? pooled : new PreparedReader(_connectionString);
        try
        {
            read(reader);
        }
        finally
        {
            if (_readers.Count < MaxPooledReaders)
            {
                _readers.Add(reader);
            }
            else
            {
                reader.Dispose();
            }
        }
    }

    private sealed class PreparedReader : IDisposable
    {
        private readonly SqliteConnection _connection;
        private readonly SqliteCommand _sketch, _documents;
        private readonly SqliteParameter _sketchKey, _sketchId, _documentsKey, _documentsIds;

        public PreparedReader(string connectionString)
        {
            _connection = new SqliteConnection(connectionString);
            _connection.Open();
            // Queries read whole texts (FindSharedPassages compares ten a query): mapped, SQLite reads a 16 KiB page where
            // it lies in the page cache instead of copying it in a read call each time (FindSharedPassages 6 % faster at
            // 20,000 documents). Writes still go through write calls, so a full disk is reported as before; the cost is that
            // a read error of the disk under a mapped page stops the process instead of failing one query.
            Execute(_connection, $"PRAGMA mmap_size={ReaderMemoryMapBytes}");
            (_sketch, _sketchKey, _sketchId) = Prepare($"SELECT {DocumentColumns}, {SketchSourceColumns} FROM documents WHERE collection = $key AND id = $id", "$id");
            // One statement for every id of a read.
            (_documents, _documentsKey, _documentsIds) = Prepare(
                $"SELECT {DocumentColumns}, text FROM documents WHERE collection = $key AND id IN (SELECT value FROM json_each($ids))", "$ids");
        }

        /// <summary>The row of <paramref name="id"/> with what its sketch is made from (<see cref="ReadSketchSource"/>), if stored.</summary>
        public SqliteDataReader SketchSource(long key, string id)
        {
            _sketchKey.Value = key;
            _sketchId.Value = id;
            return _sketch.ExecuteReader();
        }

        /// <summary>The rows of the ids in <paramref name="idsJson"/> (a JSON array), with their texts.</summary>
        public SqliteDataReader Documents(long key, string idsJson)
        {
            _documentsKey.Value = key;
            _documentsIds.Value = idsJson;
            return _documents.ExecuteReader();
        }

        public void Dispose()
        {
            _sketch.Dispose();
            _documents.Dispose();
            _connection.Dispose();
        }

        private (SqliteCommand Command, SqliteParameter Key, SqliteParameter Text) Prepare(string sql, string textParameter)
        {
            SqliteCommand command = _connection.CreateCommand();
            command.CommandText = sql;
            SqliteParameter key = command.Parameters.Add("$key", SqliteType.Integer), text = command.Parameters.Add(textParameter, SqliteType.Text);
            command.Prepare();
            return (command, key, text);
        }
    }

    /// <summary>What a document's sketch is made from: the sketch stored by format 2, or the document and its text (null when damaged).</summary>
    private sealed record SketchSource(string Id, long Seq, int Utf8Length, byte[]? Stored, StoredDocument? Document);
}
