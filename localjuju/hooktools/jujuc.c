/*
 * jujuc: the hook tool client, compiled. Every tool name is a symlink to it.
 *
 * The same client as jujuc.py (its docstring has the wire format), in C: Juju's own jujuc is a
 * Go binary that starts in about a millisecond, while a Python interpreter takes about ten,
 * and a charm calls hook tools dozens of times per hook. install_tools() installs this one
 * when the set-up built it (see build_client() in server.py) and jujuc.py otherwise.
 *
 * It forwards basename(argv[0]), the arguments and the working directory to the unit agent
 * over $JUJU_AGENT_SOCKET_ADDRESS ($JUJU_AGENT_SOCKET_NETWORK must be "unix"; an address
 * starting with '@' is abstract) with $JUJU_CONTEXT_ID, reads stdin and --file files only when
 * the agent asks for them, writes an -o file itself, prints the tool's stdout and stderr and
 * exits with its code. Errors mirror jujud's: "ERROR <message>" and exit code 1.
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define MAX_ROUNDS 4
#define MAGIC "JUJUC1"

typedef struct {
    char *data;
    size_t len;
} field;

typedef struct {
    char *data;
    size_t len, cap;
} buffer;

static void die_oom(void) {
    fputs("ERROR out of memory\n", stderr);
    exit(1);
}

static int fail(const char *message, int code) {
    fprintf(stderr, "ERROR %s\n", message);
    fflush(stderr);
    return code;
}

/* Python's OSError.strerror with its first letter lowered, as jujuc.py's _os_error. */
static const char *os_error(int err) {
    static char text[256];
    snprintf(text, sizeof text, "%s", strerror(err));
    if (text[0] >= 'A' && text[0] <= 'Z')
        text[0] = (char)(text[0] - 'A' + 'a');
    return text;
}

static void put(buffer *b, const void *data, size_t len) {
    if (b->len + len > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + len)
            cap *= 2;
        b->data = realloc(b->data, cap);
        if (!b->data)
            die_oom();
        b->cap = cap;
    }
    memcpy(b->data + b->len, data, len);
    b->len += len;
}

static void put_u32(buffer *b, uint32_t v) {
    unsigned char raw[4] = {(unsigned char)(v >> 24), (unsigned char)(v >> 16),
                            (unsigned char)(v >> 8), (unsigned char)v};
    put(b, raw, 4);
}

static void put_field(buffer *b, const void *data, size_t len) {
    put_u32(b, (uint32_t)len);
    put(b, data, len);
}

static void put_str(buffer *b, const char *s) { put_field(b, s, strlen(s)); }

static void put_num(buffer *b, long n) {
    char text[32];
    snprintf(text, sizeof text, "%ld", n);
    put_str(b, text);
}

/* The whole content of fd, or NULL with errno set. */
static char *read_all(int fd, size_t *len) {
    buffer b = {0};
    char chunk[65536];
    for (;;) {
        ssize_t n = read(fd, chunk, sizeof chunk);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            int saved = errno;
            free(b.data);
            errno = saved;
            return NULL;
        }
        if (n == 0)
            break;
        put(&b, chunk, (size_t)n);
    }
    put(&b, "", 1); /* never NULL for an empty file */
    *len = b.len - 1;
    return b.data;
}

/* 0, or -1 with errno set (0 when the agent closed the connection). */
static int recv_exact(int sock, char *into, size_t len) {
    while (len) {
        ssize_t n = recv(sock, into, len, 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        if (n == 0) {
            errno = 0;
            return -1;
        }
        into += n;
        len -= (size_t)n;
    }
    return 0;
}

static int recv_u32(int sock, uint32_t *v) {
    unsigned char raw[4];
    if (recv_exact(sock, (char *)raw, 4) < 0)
        return -1;
    *v = ((uint32_t)raw[0] << 24) | ((uint32_t)raw[1] << 16) | ((uint32_t)raw[2] << 8) | raw[3];
    return 0;
}

/* The reply's fields (each NUL-terminated after its length), or NULL with errno set. */
static field *receive(int sock, uint32_t *count) {
    if (recv_u32(sock, count) < 0)
        return NULL;
    field *fields = calloc(*count ? *count : 1, sizeof *fields);
    if (!fields)
        die_oom();
    for (uint32_t i = 0; i < *count; i++) {
        uint32_t size;
        if (recv_u32(sock, &size) < 0)
            return NULL;
        fields[i].data = malloc((size_t)size + 1);
        if (!fields[i].data)
            die_oom();
        if (recv_exact(sock, fields[i].data, size) < 0)
            return NULL;
        fields[i].data[size] = '\0';
        fields[i].len = size;
    }
    return fields;
}

static int is(const field *f, const char *text) {
    return f->len == strlen(text) && memcmp(f->data, text, f->len) == 0;
}

static int connection_error(int err) {
    char message[512];
    if (err == 0)
        snprintf(message, sizeof message,
                 "unit agent connection: connection closed by the unit agent");
    else
        snprintf(message, sizeof message, "unit agent connection: [Errno %d] %s", err,
                 strerror(err));
    return fail(message, 1);
}

/* 0, or -1 with errno set; to the agent's socket without SIGPIPE when it went away. */
static int write_all(int fd, const char *data, size_t len, int is_socket) {
    while (len) {
        ssize_t n = is_socket ? send(fd, data, len, MSG_NOSIGNAL) : write(fd, data, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        data += n;
        len -= (size_t)n;
    }
    return 0;
}

typedef struct {
    char *path;
    size_t path_len;
    int ok;
    char *data;
    size_t len;
} asked_file;

int main(int argc, char **argv) {
    char message[8192];
    const char *command = strrchr(argv[0], '/');
    command = command ? command + 1 : argv[0];
    if (strcmp(command, "jujuc") == 0 || strcmp(command, "jujuc.py") == 0)
        return fail("jujuc should not be called directly", 2);

    const char *names[] = {"JUJU_CONTEXT_ID", "JUJU_AGENT_SOCKET_ADDRESS",
                           "JUJU_AGENT_SOCKET_NETWORK"};
    const char *values[3];
    for (int i = 0; i < 3; i++)
        values[i] = getenv(names[i]);
    /* checked in jujuc.py's order: the context id, the working directory, the socket */
    if (!values[0] || !*values[0]) {
        snprintf(message, sizeof message, "%s not set", names[0]);
        return fail(message, 1);
    }
    char *cwd = getcwd(NULL, 0);
    if (!cwd) {
        snprintf(message, sizeof message, "getwd: %s", os_error(errno));
        return fail(message, 1);
    }
    for (int i = 1; i < 3; i++) {
        if (!values[i] || !*values[i]) {
            snprintf(message, sizeof message, "%s not set", names[i]);
            return fail(message, 1);
        }
    }
    const char *context_id = values[0], *address = values[1], *network = values[2];
    if (strcmp(network, "unix") != 0) {
        snprintf(message, sizeof message, "unsupported hook tool socket network '%s'", network);
        return fail(message, 1);
    }

    struct sockaddr_un sa;
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    size_t alen = strlen(address);
    if (alen >= sizeof sa.sun_path) {
        snprintf(message, sizeof message, "dial unix %s: connect: AF_UNIX path too long",
                 address);
        return fail(message, 1);
    }
    memcpy(sa.sun_path, address, alen);
    if (address[0] == '@')
        sa.sun_path[0] = '\0';
    socklen_t sa_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + alen +
                                   (address[0] == '@' ? 0 : 1));
    int sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (sock < 0 || connect(sock, (struct sockaddr *)&sa, sa_len) < 0) {
        int err = errno;
        if (sock >= 0)
            close(sock);
        snprintf(message, sizeof message, "dial unix %s: connect: %s", address, os_error(err));
        return fail(message, 1);
    }

    buffer head = {0};
    put_str(&head, MAGIC);
    put_str(&head, context_id);
    put_str(&head, command);
    put_str(&head, cwd);
    put_num(&head, argc - 1);
    for (int i = 1; i < argc; i++)
        put_str(&head, argv[i]);
    uint32_t head_fields = 5 + (uint32_t)(argc - 1);

    char *stdin_data = NULL;
    size_t stdin_len = 0;
    asked_file *files = NULL;
    size_t nfiles = 0;
    field *reply = NULL;
    uint32_t nreply = 0;
    int round;
    for (round = 0; round < MAX_ROUNDS; round++) {
        buffer req = {0};
        put_u32(&req, head_fields + 3 + 3 * (uint32_t)nfiles);
        put(&req, head.data, head.len);
        put_str(&req, stdin_data ? "1" : "0");
        put_field(&req, stdin_data ? stdin_data : "", stdin_len);
        put_num(&req, (long)nfiles);
        for (size_t i = 0; i < nfiles; i++) {
            put_field(&req, files[i].path, files[i].path_len);
            put_str(&req, files[i].ok ? "ok" : "err");
            put_field(&req, files[i].data, files[i].len);
        }
        int sent = write_all(sock, req.data, req.len, 1);
        free(req.data);
        if (sent < 0)
            return close(sock), connection_error(errno);
        reply = receive(sock, &nreply);
        if (!reply || nreply < 1)
            return close(sock), connection_error(reply ? 0 : errno);
        if (is(&reply[0], "error")) {
            close(sock);
            return fail(nreply > 1 ? reply[1].data : "", 1);
        }
        if (!is(&reply[0], "need"))
            break;
        if (nreply > 1 && is(&reply[1], "1") && !stdin_data) {
            stdin_data = read_all(0, &stdin_len);
            if (!stdin_data) {
                snprintf(message, sizeof message, "cannot read stdin: [Errno %d] %s", errno,
                         strerror(errno));
                close(sock);
                return fail(message, 1);
            }
        }
        for (uint32_t i = 2; i < nreply; i++) {
            asked_file *slot = NULL;
            for (size_t j = 0; j < nfiles; j++)
                if (files[j].path_len == reply[i].len &&
                    memcmp(files[j].path, reply[i].data, reply[i].len) == 0)
                    slot = &files[j];
            if (!slot) {
                files = realloc(files, (nfiles + 1) * sizeof *files);
                if (!files)
                    die_oom();
                slot = &files[nfiles++];
                slot->path = reply[i].data;
                slot->path_len = reply[i].len;
            }
            int fd = open(reply[i].data, O_RDONLY | O_CLOEXEC);
            int err = errno;
            slot->data = fd < 0 ? NULL : read_all(fd, &slot->len);
            if (fd >= 0) {
                err = errno;
                close(fd);
            }
            slot->ok = slot->data != NULL;
            if (!slot->ok) {
                char text[8192];
                int n = snprintf(text, sizeof text, "open %s: %s", reply[i].data, os_error(err));
                slot->len = (size_t)(n < (int)sizeof text ? n : (int)sizeof text - 1);
                slot->data = strdup(text);
                if (!slot->data)
                    die_oom();
            }
        }
    }
    close(sock);
    if (round == MAX_ROUNDS)
        return fail("hook tool kept asking for input", 1);
    if (!is(&reply[0], "result") || nreply < 6)
        return connection_error(0);

    /* result, code, stdout, stderr, output-path, output-data */
    if (reply[2].len && (write_all(1, reply[2].data, reply[2].len, 0) < 0))
        return 1;
    if (reply[3].len && (write_all(2, reply[3].data, reply[3].len, 0) < 0))
        return 1;
    if (reply[4].len) {
        int fd = open(reply[4].data, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
        if (fd < 0 || write_all(fd, reply[5].data, reply[5].len, 0) < 0) {
            snprintf(message, sizeof message, "open %s: %s", reply[4].data, os_error(errno));
            if (fd >= 0)
                close(fd);
            return fail(message, 1);
        }
        close(fd);
    }
    return atoi(reply[1].data);
}
